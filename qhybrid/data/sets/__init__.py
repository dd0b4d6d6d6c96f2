"""qhybrid's data sets, one module each: a module here registers its data sets in
``qhybrid.data.options.DATA`` when the registry is first read (with conf/data/<name>.yaml
beside it, that is all a new bundled data set needs)."""

"""qhybrid's backends, registered in ``qhybrid.quantum.backend_options.BACKENDS`` when the
registry is first read: with conf/backend/<name>.yaml beside it, a module here is all a new
backend needs."""

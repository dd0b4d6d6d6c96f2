"""The data group's registry: each data set's name, schema, loader and one line about it.

qhybrid's own data sets register themselves in ``qhybrid/data/sets/`` (one module each, found
on first use); a data set of your own is its YAML (``conf/data/<name>.yaml`` in a
``--config-dir``) with ``module: <file>.py`` naming the module that registers it.
"""

from __future__ import annotations

from qhybrid.registry import Registry

DATA = Registry("data", "data set", package="qhybrid.data.sets")

"""A table in memory, handed to qhybrid.train(X=..., y=...) from Python."""

from qhybrid.data.memory import MemoryDataSpec
from qhybrid.data.options import DATA

DATA.add("memory", MemoryDataSpec, "qhybrid.data.memory:load_memory",
         "a table handed to qhybrid.train(X=..., y=...) in Python (no file)", reads_task=True)

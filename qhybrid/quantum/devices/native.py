"""qhybrid's own batched state-vector executor (qhybrid.quantum.native)."""

from qhybrid.quantum.backend_options import BACKENDS

NATIVE = "qhybrid.quantum.backends:resolve_native"
BACKENDS.add("auto", None, NATIVE, "qhybrid's native executor (the default): CUDA when trainer.device finds a GPU",
             native=True, alias_of="torch")
BACKENDS.add("torch", None, NATIVE, "qhybrid's native batched state-vector executor: exact, autograd, CPU or CUDA",
             native=True)

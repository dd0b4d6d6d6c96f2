"""`python -m qhybrid.quantum.native_warm`: compiles the native executor's compact kernels
(qhybrid.quantum.native_kernels) for both precisions, or loads them from Numba's cache when
they are there. The quick start's setup runs it, so that neither the first training run
nor the test suite waits about a minute per precision for Numba."""

from __future__ import annotations

import sys


def main() -> int:
    import torch  # lazy: `python -m` of this module is the only user

    from qhybrid.quantum.circuit import compile_program
    from qhybrid.quantum.native import NativeExecutor
    from qhybrid.quantum.spec import QuantumSpec

    executor = NativeExecutor(compile_program(QuantumSpec(n_qubits=4, n_layers=2)), "compact")
    seconds = sum(executor.warm_up(dtype) for dtype in (torch.float64, torch.float32))
    if seconds > 5:
        print(f"setup: compiled the native executor's kernels in {seconds:.0f} s (cached for later runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

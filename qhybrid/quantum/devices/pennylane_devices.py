"""PennyLane's simulators and plugins."""

from qhybrid.quantum.backend_options import pennylane_device

pennylane_device("default_qubit", "default.qubit", "PennyLane's Python simulator: backprop, shots, broadcasting",
                 batched=True)
pennylane_device("lightning_qubit", "lightning.qubit", "pennylane-lightning (C++ CPU): adjoint gradients")
pennylane_device("lightning_gpu", "lightning.gpu", "pennylane-lightning-gpu (cuStateVec): adjoint on an NVIDIA GPU",
                 install="pip install 'qhybrid[gpu]' (pennylane-lightning-gpu; needs an NVIDIA GPU with CUDA 12)")
pennylane_device("lightning_kokkos", "lightning.kokkos", "pennylane-lightning-kokkos (OpenMP/CUDA/HIP)",
                 install="pip install pennylane-lightning-kokkos")
pennylane_device("qiskit_aer", "qiskit.aer", "Qiskit Aer through pennylane-qiskit: statevector, or shots",
                 install="pip install 'qhybrid[qiskit]'")
pennylane_device("pennylane", None, "any installed PennyLane device: backend.device=<its name>")

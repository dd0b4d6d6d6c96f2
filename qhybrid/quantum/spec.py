"""The quantum groups' schemas: the circuit (model.quantum) and where it runs (backend)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from qhybrid.errors import ConfigError
from qhybrid.quantum.ansatze import ANSATZE
from qhybrid.quantum.backend_options import fallback_names, is_native
from qhybrid.spec_checks import choice, positive


# the native executor's plans (qhybrid.quantum.native): auto picks one per batch with a cost model
NATIVE_STRATEGIES = ("auto", "compact", "fused", "gates")


@dataclass
class QuantumSpec:
    """The circuit description (see qhybrid.quantum.circuit)."""

    n_qubits: int = 4
    embedding: str = "angle"  # angle | amplitude
    rotation: str = "X"  # angle embedding: X | Y | Z
    amplitude_features: Optional[int] = None  # amplitude embedding: inputs (<= 2**n_qubits; default 2**n_qubits)
    gating: str = "none"  # none | hard | soft
    threshold: float = 0.1
    soft_alpha: float = 10.0  # soft gating: initial (trainable) steepness
    soft_tau_trainable: bool = False
    ansatz: str = "strongly_entangling"  # none | basic_entangler | strongly_entangling
    n_layers: int = 2
    entangler_rotation: str = "X"  # basic_entangler's rotation
    reupload: bool = False
    trainable: bool = True  # train the ansatz weights
    angle_scale: float = 1.5707963267948966  # the pre-layer's tanh output times this is the angle (pi/2)
    # a circuit of your own (replaces embedding, gating, ansatz): a YAML description (inline or a .yaml
    # file, qhybrid.quantum.circuit_yaml) or a Python function <file.py or module>:<function>
    circuit: Any = None
    weight_shapes: Optional[dict[str, Any]] = None  # the Python function's weights: name -> shape
    n_inputs: Optional[int] = None  # numbers per sample the Python function reads (default n_qubits)
    observables: Any = None  # null: <Z> on every wire; or [Z0, "Z0 Z1", "0.5 X1", probs, ...]
    # the circuit without its gates on two or more wires (no entanglement): controls=[separable]
    separable: bool = False

    def check(self) -> None:
        # lazy: loads torch, and `qhybrid train --help` imports this module (preflight -> schema -> here)
        from qhybrid.quantum.circuit import EMBEDDINGS, GATINGS, ROTATIONS

        if self.n_qubits < 1:
            raise ConfigError(f"model.quantum.n_qubits={self.n_qubits} is out of range", "use at least 1 qubit")
        if self.n_layers < 1:
            raise ConfigError(f"model.quantum.n_layers={self.n_layers} is out of range",
                              "use n_layers >= 1 (ansatz=none for no trainable layers)")
        choice("model.quantum.embedding", self.embedding, EMBEDDINGS)
        choice("model.quantum.rotation", self.rotation, ROTATIONS)
        choice("model.quantum.entangler_rotation", self.entangler_rotation, ROTATIONS)
        choice("model.quantum.gating", self.gating, GATINGS)
        choice("model.quantum.ansatz", self.ansatz, ANSATZE.names())
        positive("model.quantum.threshold", self.threshold, allow_zero=True)
        positive("model.quantum.soft_alpha", self.soft_alpha)
        positive("model.quantum.angle_scale", self.angle_scale)
        self._check_circuit()
        if self.embedding == "amplitude" and self.circuit is None:
            limit = 2**self.n_qubits
            if self.amplitude_features is not None and not 1 <= self.amplitude_features <= limit:
                raise ConfigError(
                    f"model.quantum.amplitude_features={self.amplitude_features} does not fit the amplitude "
                    f"embedding of {self.n_qubits} qubits (at most 2^{self.n_qubits} = {limit})",
                    f"use at most {limit} features, or more qubits")
            if self.gating != "none":
                raise ConfigError(f"model.quantum.gating={self.gating} applies to angle embedding only",
                                  "use gating=none with embedding=amplitude")
            if self.reupload:
                raise ConfigError("model.quantum.reupload=true with amplitude embedding would prepare a state "
                                  "in the middle of the circuit", "use reupload with embedding=angle only")

    def _check_circuit(self) -> None:
        # lazy: compiling loads torch (and PennyLane for a Python function), and `qhybrid train --help`
        # imports this module
        from qhybrid.quantum.programs import is_python, program_of

        if self.circuit is None:
            for key, value in (("weight_shapes", self.weight_shapes), ("n_inputs", self.n_inputs)):
                if value:
                    raise ConfigError(f"model.quantum.{key} is set, but there is no model.quantum.circuit of yours",
                                      f"set model.quantum.circuit, or drop model.quantum.{key}")
        else:
            if self.gating != "none":
                raise ConfigError(f"model.quantum.gating={self.gating} gates the built-in embedding, which "
                                  "model.quantum.circuit replaces", "use model.quantum.gating=none")
            if not is_python(self.circuit) and (self.weight_shapes or self.n_inputs):
                raise ConfigError("model.quantum.weight_shapes and n_inputs describe a Python function's "
                                  "arguments, but model.quantum.circuit is a YAML circuit",
                                  "give a YAML circuit its inputs as circuit.n_inputs; its weights come from w")
            if self.n_inputs is not None and self.n_inputs < 1:
                raise ConfigError(f"model.quantum.n_inputs={self.n_inputs} is out of range", "use at least 1")
        program_of(self)  # a circuit that cannot compile is found now, in one line



DIFF_METHODS = ("best", "backprop", "adjoint", "parameter-shift")
SIM_DTYPES = ("float64", "float32")


PROBABILITIES = ("depolarizing", "depolarizing_2q", "amplitude_damping", "phase_damping", "bit_flip", "phase_flip",
                 "readout", "readout_01", "readout_10")


@dataclass
class NoiseSpec:
    """``backend.noise``: probabilities in [0, 1]; all zero (the default) is a noiseless run."""

    depolarizing: float = 0.0  # after every gate, on each wire it acts on (PennyLane's DepolarizingChannel p)
    depolarizing_2q: Optional[float] = None  # after a two-qubit gate, on both wires at once (null: depolarizing per wire)
    amplitude_damping: float = 0.0  # gamma: T1 relaxation during a gate
    phase_damping: float = 0.0  # gamma: T2 dephasing during a gate
    bit_flip: float = 0.0
    phase_flip: float = 0.0
    readout: float = 0.0  # a bit read wrong, either way
    readout_01: Optional[float] = None  # p(read 0 | 1): overrides readout for that direction
    readout_10: Optional[float] = None  # p(read 1 | 0)
    # `from` in YAML and overrides: a device's calibration (a JSON file or a fake backend's name)
    from_: Optional[str] = None

    def check(self, key: str = "backend.noise") -> None:
        if self.from_ is not None and not str(self.from_).strip():
            raise ConfigError(f"{key}.from is empty", f"name a fake backend (e.g. {key}.from=fake_manila) or a "
                                                       f"calibration JSON file, or drop {key}.from")
        if self.from_:
            set_too = [name for name in PROBABILITIES if getattr(self, name)]
            if set_too:
                raise ConfigError(f"{key}.from={self.from_} sets every channel from the calibration, and "
                                  f"{key}.{set_too[0]} is set too", f"use one: drop {key}.{set_too[0]}, or {key}.from")
            from qhybrid.quantum.calibration import load_calibration  # lazy: reads a JSON file

            load_calibration(self.from_, f"{key}.from")  # a missing file or unknown name, before anything runs
        for name in PROBABILITIES:
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{key}.{name}={value:g} is not a probability",
                                  f"give {key}.{name} a value in [0, 1]")

    @property
    def active(self) -> bool:
        return bool(self.from_) or any(getattr(self, name) for name in PROBABILITIES)

    @property
    def readout_errors(self) -> tuple[float, float]:
        """(p(read 0 | 1), p(read 1 | 0))."""
        return (self.readout if self.readout_01 is None else self.readout_01,
                self.readout if self.readout_10 is None else self.readout_10)

    def record(self) -> Optional[dict]:
        """What metrics.json records: the channels that act (None for a noiseless run)."""
        if not self.active:
            return None
        return {name: getattr(self, name) for name in PROBABILITIES if getattr(self, name)}


@dataclass
class EvalNoiseSpec(NoiseSpec):
    """``eval_noise``: backend.noise's keys, for scoring each fold's trained model only."""

    def check(self, key: str = "eval_noise") -> None:
        super().check(key)


# numpy's multinomial draws take a C long; 10^12 shots of one sample is already far past any device
MAX_SHOTS = 10**12
MAX_SEED = 2**63 - 1  # numpy's generators take non-negative seeds


@dataclass
class BackendSpec:
    """Where a quantum layer runs. Classical models ignore this group."""

    name: str = "auto"
    device: Optional[str] = None  # the PennyLane device's name (required for name=pennylane)
    diff_method: str = "best"
    shots: Optional[int] = None  # null: exact expectation values
    dtype: str = "float64"  # simulation precision (float64 -> complex128 states)
    fallbacks: list[str] = field(default_factory=list)  # backend names tried in order when this one cannot start
    strict: bool = False  # true: a backend that cannot start is an error, never a fallback
    max_retries: int = 3  # transient execution errors (remote QPU, network) are retried this often
    retry_backoff: float = 1.0  # seconds before the first retry; doubles each time
    seed: Optional[int] = None  # shot-noise seed for devices that take one (default: the run seed)
    options: dict[str, Any] = field(default_factory=dict)  # extra keyword arguments for qml.device
    strategy: str = "auto"  # native executor (torch, auto): one of NATIVE_STRATEGIES
    module: Optional[str] = None  # a backend of your own: the module that registers it (backend_options.py)
    noise: NoiseSpec = field(default_factory=NoiseSpec)  # channels after every gate (the native executor)

    def check(self) -> None:
        native = is_native(self.name)  # an unknown name is refused here, with the known ones
        self.noise.check()
        if self.noise.active and not native:
            raise ConfigError(f"backend.noise runs on the native executor's density matrices, not on backend={self.name}",
                              "use backend=torch (or auto) with backend.noise, or set the device's own noise options")
        choice("backend.strategy", self.strategy, NATIVE_STRATEGIES)
        if self.noise.active and self.strategy != "auto":
            raise ConfigError(f"backend.strategy={self.strategy} chooses how state vectors run, and backend.noise "
                              "runs density matrices", "leave backend.strategy=auto with backend.noise")
        if native and self.diff_method == "adjoint":
            raise ConfigError(f"backend={self.name} (the native executor) differentiates by autograd (backprop) or "
                              "the parameter shift, not adjoint",
                              "use backend.diff_method=best (or parameter-shift), or backend=lightning_qubit (adjoint)")
        choice("backend.diff_method", self.diff_method, DIFF_METHODS)
        choice("backend.dtype", self.dtype, SIM_DTYPES)
        for i, fallback in enumerate(self.fallbacks):
            choice(f"backend.fallbacks[{i}]", fallback, fallback_names())
        if self.name == "pennylane" and not self.device:
            raise ConfigError("backend=pennylane needs the device's name",
                              "add backend.device=<name>, e.g. backend.device=default.mixed")
        if self.shots is not None and not 1 <= self.shots <= MAX_SHOTS:
            raise ConfigError(f"backend.shots={self.shots} is out of range",
                              f"use null (exact) or a count from 1 to {MAX_SHOTS:,}")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"backend.seed={self.seed} is out of range",
                              f"use null (the run's seed) or a whole number from 0 to {MAX_SEED}")
        if self.shots is not None and self.diff_method in ("adjoint", "backprop"):
            raise ConfigError(f"backend.diff_method={self.diff_method} needs exact simulation, but "
                              f"backend.shots={self.shots}",
                              "use backend.diff_method=parameter-shift (or best) with shots, or backend.shots=null")
        if self.max_retries < 0:
            raise ConfigError(f"backend.max_retries={self.max_retries} is out of range", "use 0 or more")
        positive("backend.retry_backoff", self.retry_backoff, allow_zero=True)



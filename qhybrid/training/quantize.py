"""Post-training dynamic INT8 of the classical Linear layers, with torchao.

torch.ao.quantization is deprecated in the torch installed here (it warns on every call
and is scheduled for removal); torchao's ``quantize_`` with
``Int8DynamicActivationInt8WeightConfig`` is the maintained path: int8 weights (symmetric,
per output row), activations quantized per row at run time. The quantum layer is not a
Linear and keeps its weights.

A quantized checkpoint stores each int8 weight as its plain component tensors (qdata,
scale, zero_point: the tensor subclass's own flattening), packed with the other tensors
into one flat tensor per dtype plus an index (a checkpoint's container costs hundreds of
bytes per tensor, more than a small model's weights). It loads with
``torch.load(weights_only=True)`` and never pickles a torchao class; loading quantizes a
freshly built model to get the layout and puts the stored components in.
torchao's import-time messages (optional CUDA kernels it cannot load on this machine, a
pytree deprecation notice) are kept off the user's terminal.
"""

from __future__ import annotations

import contextlib
import io
import logging
import statistics
import time
import warnings

import torch
from torch import nn

from qhybrid.errors import QHybridError
from qhybrid.training.metrics import summarize

_NOISY_LOGGERS = ("torchao", "torch.utils._pytree")


@contextlib.contextmanager
def _quiet():
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _torchao():
    # lazy: a 3 s import that only quantization=int8 needs; a missing torchao becomes one line below
    try:
        with _quiet():
            from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
    except ImportError:
        raise QHybridError("quantization=int8 needs torchao, which is not installed",
                           "pip install torchao (it comes with qhybrid's own install), or quantization=none") from None
    return quantize_, Int8DynamicActivationInt8WeightConfig


def _is_linear(module: nn.Module, name: str) -> bool:
    # torchao's per-row scales cannot take a single input column (a readout of one value into the
    # head, Linear(1, k)): such a layer has k weights and stays float
    return isinstance(module, nn.Linear) and module.in_features > 1


def quantize_int8(model: nn.Module) -> nn.Module:
    """Quantize every nn.Linear of ``model`` in place (eval use only); returns it."""
    quantize_, config = _torchao()
    model.eval()
    with _quiet(), torch.no_grad():
        quantize_(model, config(), filter_fn=_is_linear)
    return model


def _quantized_linears(model: nn.Module) -> dict[str, nn.Linear]:
    return {name: m for name, m in model.named_modules()
            if isinstance(m, nn.Linear) and hasattr(m.weight, "__tensor_flatten__")}


def pack(state: dict[str, torch.Tensor]) -> dict:
    """{"index": [(key, dtype, shape, offset)], "blobs": {dtype: flat tensor}}."""
    by_dtype: dict[str, list[torch.Tensor]] = {}
    index = []
    for key, tensor in state.items():
        dtype = str(tensor.dtype).removeprefix("torch.")
        parts = by_dtype.setdefault(dtype, [])
        offset = sum(p.numel() for p in parts)
        parts.append(tensor.reshape(-1))
        index.append((key, dtype, list(tensor.shape), offset))
    return {"index": index, "blobs": {d: torch.cat(parts) for d, parts in by_dtype.items()}}


def unpack(packed: dict) -> dict[str, torch.Tensor]:
    state = {}
    for key, dtype, shape, offset in packed["index"]:
        numel = 1
        for size in shape:
            numel *= size
        state[key] = packed["blobs"][dtype][offset : offset + numel].reshape(shape).clone()
    return state


def _entries(model: nn.Module):
    """(key, tensor, owning quantized Linear or None) for each entry of the state_dict."""
    linears = _quantized_linears(model)
    for key, value in model.state_dict().items():
        owner, _, leaf = key.rpartition(".")
        yield key, value, (linears[owner] if owner in linears and leaf == "weight" else None)


def int8_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """A quantized model's state as plain tensors: ``<layer>.weight.<component>``."""
    state = {}
    for key, value, linear in _entries(model):
        if linear is None:
            state[key] = value.detach().cpu().clone()
            continue
        components, _ = value.__tensor_flatten__()
        for component in components:
            state[f"{key}.{component}"] = getattr(value, component).detach().cpu().clone()
    return state


def load_int8_state_dict(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """Quantize a freshly built ``model`` and put the stored int8 components in."""
    quantize_int8(model)
    plain = {}
    for key, value, linear in _entries(model):
        if linear is None:
            plain[key] = state[key]
            continue
        components, meta = value.__tensor_flatten__()
        try:
            inner = {c: state[f"{key}.{c}"] for c in components}
        except KeyError as err:
            raise QHybridError(f"the INT8 checkpoint has no {err.args[0]}",
                               "it was written by another qhybrid or torchao version: re-run training") from None
        if inner["qdata"].shape != value.qdata.shape:
            raise QHybridError(f"the INT8 checkpoint's {key} has shape {tuple(inner['qdata'].shape)}, "
                               f"the model {tuple(value.qdata.shape)}", "rebuild from the run's own config")
        weight = type(value).__tensor_unflatten__(inner, meta, value.shape, value.stride())
        linear.weight = nn.Parameter(weight, requires_grad=False)
    model.load_state_dict(plain, strict=False)
    return model


def state_bytes(state: dict[str, torch.Tensor]) -> int:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.tell()


@torch.no_grad()
def cpu_latency_ms(model: nn.Module, X: torch.Tensor, repeats: int = 30, budget_s: float = 1.0) -> float:
    """Median wall time of one forward pass over ``X`` on the CPU, in milliseconds: at most
    ``repeats`` passes, fewer (at least 3) when they exceed ``budget_s`` (slow simulators)."""
    model.eval()
    X = X.cpu()
    model(X)
    times: list[float] = []
    while len(times) < repeats and (len(times) < 3 or sum(times) < budget_s):
        start = time.perf_counter()
        model(X)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def evaluate_int8(make_plain_model, plain: dict, X_test: torch.Tensor, repeats: int, score) -> tuple[dict, dict]:
    """Quantize a fold's best model (its plain weights, on the CPU) and score it on the
    fold's test part (``score(model, X)``: the fold's metrics of a model's outputs); weight bytes
    and CPU latency beside the float model's. Returns the fold's record and the packed INT8
    state for its checkpoint."""
    float_model = make_plain_model()
    float_model.load_state_dict(plain)
    int8_model = make_plain_model()
    int8_model.load_state_dict(plain)
    quantize_int8(int8_model)
    X_cpu = X_test.cpu()
    packed = pack(int8_state_dict(int8_model))
    record = {"metrics": score(int8_model, X_cpu),
              "bytes": {"float32": state_bytes(plain), "int8": state_bytes(packed)},
              "cpu_latency_ms": {"float32": cpu_latency_ms(float_model.cpu(), X_cpu, repeats),
                                 "int8": cpu_latency_ms(int8_model, X_cpu, repeats)},
              "n_test": int(X_cpu.shape[0])}
    return record, packed


def int8_summary(rows: list[dict], names: list[str]) -> dict:
    """metrics.json's quantization block: INT8 and float summaries side by side, mean sizes
    and latencies over folds."""
    int8 = [r["int8"] for r in rows]

    def mean(part: str, kind: str) -> float:
        return float(statistics.fmean(r[part][kind] for r in int8))

    return {"name": "int8", "library": "torchao", "scheme": "dynamic int8 activations, int8 weights per row",
            "summary": summarize([r["metrics"] for r in int8], [n for n in names if n in int8[0]["metrics"]]),
            "float32_summary": summarize(rows, names),
            "bytes": {k: mean("bytes", k) for k in ("float32", "int8")},
            "cpu_latency_ms": {k: mean("cpu_latency_ms", k) for k in ("float32", "int8")}}

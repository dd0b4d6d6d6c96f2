"""Atomic file writes: a temp file in the same folder, then os.replace.

A run that is killed mid-write leaves the previous version of a file (or none), never a
half-written one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO


def _atomic(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    return _atomic(path, lambda fh: fh.write(data))


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def _json_safe(value: Any) -> Any:
    """NaN and inf are not JSON: write them as null (an undefined metric)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars
        return _json_safe(value.item())
    if hasattr(value, "tolist"):
        return _json_safe(value.tolist())
    return value


def write_json(path: Path, obj: Any) -> Path:
    return write_text(path, json.dumps(_json_safe(obj), indent=2, allow_nan=False) + "\n")


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: list[str]) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in _json_safe(dict(row)).items()})
    return write_text(path, buf.getvalue())


def save_figure(path: Path, fig: Any, dpi: int = 120, fmt: str = "png") -> Path:
    # svg and pdf keep their text as text (editable in a paper's figure), fonts embedded as TrueType
    with plt_params({"svg.fonttype": "none", "pdf.fonttype": 42}):
        return _atomic(path, lambda fh: fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight"))


def plt_params(values: dict) -> Any:
    import matplotlib  # lazy: only figures need it

    return matplotlib.rc_context(values)


def save_torch(path: Path, obj: Any) -> Path:
    import torch  # lazy: `qhybrid report --help` imports this module and must not load torch

    return _atomic(path, lambda fh: torch.save(obj, fh))

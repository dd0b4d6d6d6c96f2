"""A content digest written into qhybrid's own records (checkpoints, fold records), so that a
file changed after it was written — edited by hand, damaged by a disk or a copy, parts
swapped between files — is refused instead of silently giving other numbers. It guards
against accidents, not against someone who recomputes it: code never runs from these files
(weights-only loading, plain JSON) whatever they hold.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import torch

KEY = "digest"


def _feed(h, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        flat = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"tensor {flat.dtype} {tuple(value.shape)};".encode())
        if flat.numel():  # torch cannot view an empty tensor's (zero) stride as bytes; it has none
            h.update(flat.view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        h.update(f"dict {len(value)};".encode())
        for key in sorted(value, key=str):
            _feed(h, str(key))
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(f"list {len(value)};".encode())
        for item in value:
            _feed(h, item)
    else:
        h.update(f"{type(value).__name__} {json.dumps(value, default=repr)};".encode())


def of(record: dict[str, Any]) -> str:
    """The digest of a record (its own digest field left out)."""
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in record.items() if k != KEY})
    return h.hexdigest()


def sign(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, KEY: of(record)}


def intact(record: dict[str, Any]) -> bool:
    """True when the record's digest matches its content, or it has none (written by an
    earlier version)."""
    return KEY not in record or record[KEY] == of(record)

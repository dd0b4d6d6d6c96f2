"""How a run's figures are written: formats (png, pdf, svg), resolution, and a caption that
names the model and the data (a figure lifted into a paper or a slide says what it shows).

The settings hold for a block (``figure_output``) rather than being passed through every
plotting function: the figures are drawn in one place (qhybrid.summary) and each plotting
function ends in ``save_figure``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from qhybrid import io

FORMATS = ("png", "pdf", "svg")


@dataclass(frozen=True)
class FigureOutput:
    formats: tuple[str, ...] = ("png",)
    dpi: int = 120
    caption: Optional[str] = None  # e.g. "g6 on iris_binary, stratified_kfold: 5 folds"


_OUTPUT: contextvars.ContextVar[FigureOutput] = contextvars.ContextVar("figure_output", default=FigureOutput())


@contextmanager
def figure_output(formats: tuple[str, ...], dpi: int, caption: Optional[str] = None) -> Iterator[None]:
    token = _OUTPUT.set(FigureOutput(tuple(formats), dpi, caption))
    try:
        yield
    finally:
        _OUTPUT.reset(token)


def save_figure(path: Path, fig: Any) -> Path:
    """The figure at ``path`` in each format of the block (the suffix replaced: roc.png,
    roc.pdf), its caption above it; returns the first file written."""
    output = _OUTPUT.get()
    if output.caption:
        fig.suptitle(output.caption, fontsize="medium", y=1.0)
    written = [io.save_figure(Path(path).with_suffix(f".{fmt}"), fig, output.dpi, fmt) for fmt in output.formats]
    return written[0]

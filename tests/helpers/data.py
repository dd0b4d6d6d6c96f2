"""Small data files for tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads numpy's thread pool: not before helpers.threads has run
    import pandas as pd


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def iris_frame() -> pd.DataFrame:
    """Iris as a user's table: snake_case feature columns and a string label column ``species``."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_")).drop(columns="target")
    frame["species"] = bunch.target_names[bunch.target]
    return frame


def broken_data_conf(folder: Path) -> Path:
    """A config folder (--config-dir) with data=broken: a CSV whose labels are all one class.
    Its config is valid, so a sweep starts; the job fails when it reads the file."""
    rows = folder / "one_class.csv"
    rows.write_text("a,b,label\n" + "".join(f"{i},{i % 3},same\n" for i in range(20)))
    (folder / "conf" / "data").mkdir(parents=True)
    (folder / "conf" / "data" / "broken.yaml").write_text(
        f"defaults:\n  - csv\n  - _self_\npath: {rows}\ntarget: label\n")
    return folder / "conf"

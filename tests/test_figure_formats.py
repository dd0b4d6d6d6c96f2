"""plots.formats and plots.dpi (qhybrid.figures): each figure in each format, the raster at
the resolution asked, a caption naming model and data; bad values are one line."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from helpers.presets import fast
from qhybrid.figures import figure_output
from qhybrid.training import plots


def test_each_figure_is_written_in_each_format_with_its_caption(cli, tmp_path):
    run = tmp_path / "run"
    result = cli(["train", "model=g0", "data=iris_binary", "plots.formats=[pdf,svg]", *fast(keep=["plots"]),
                  f"hydra.run.dir={run}"])
    assert result.returncode == 0, result.stderr
    for stem in ("roc", "pr", "confusion_matrix", "learning_curves"):
        assert (run / f"{stem}.pdf").read_bytes().startswith(b"%PDF") and not (run / f"{stem}.png").exists()
        svg = (run / f"{stem}.svg").read_text()
        assert "<svg" in svg and "g0 on iris_binary (stratified_kfold, 2 folds)" in svg  # text kept as text


def test_the_raster_has_the_resolution_asked(tmp_path):
    shapes = []
    for dpi in (60, 150):
        with figure_output(("png",), dpi, "a caption"):
            plots.plot_confusion(np.array([[5, 1], [2, 7]]), ["a", "b"], tmp_path / f"c{dpi}.png", 2)
        shapes.append(matplotlib.image.imread(tmp_path / f"c{dpi}.png").shape)
    assert shapes[1][0] > 2 * shapes[0][0] and shapes[1][1] > 2 * shapes[0][1]  # 2.5x the dots per inch


@pytest.mark.parametrize("overrides, words", [
    (["plots.formats=[png,gif]"], "plots.formats[1]"),
    (["plots.formats=[]"], "plots.formats is empty"),
    (["plots.formats=[pdf,pdf]"], "twice"),
    (["plots.dpi=5"], "plots.dpi=5"),
    (["plots=sometimes"], "plots='sometimes'"),
])
def test_a_bad_figure_setting_is_refused_by_name(compose, overrides, words):
    from qhybrid.errors import ConfigError
    from qhybrid.schema import validate

    with pytest.raises(ConfigError) as refused:
        validate(compose(["model=g0", *overrides]))
    assert words in str(refused.value)


def test_the_circuit_drawing_follows_the_figures_formats(compose, tmp_path):
    from qhybrid.circuit_files import write_run_circuit
    from qhybrid.schema import validate

    spec = validate(compose(["model=g6", "plots.formats=[pdf,svg]"]))
    write_run_circuit(tmp_path, spec.model.quantum, 10, spec.plots)
    assert (tmp_path / "circuit.pdf").read_bytes().startswith(b"%PDF")
    assert "<svg" in (tmp_path / "circuit.svg").read_text()
    assert not (tmp_path / "circuit.png").exists() and (tmp_path / "circuit.txt").exists()

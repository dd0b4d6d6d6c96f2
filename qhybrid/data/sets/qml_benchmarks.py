"""The synthetic data sets of Bowles, Ahmed & Schuld 2024 ("Better than classical?",
XanaduAI/qml-benchmarks), generated offline with the study's defaults and seeds."""

from qhybrid.data.options import DATA
from qhybrid.data.qml_benchmarks_specs import (BarsAndStripesSpec, HiddenManifoldDiffSpec, HiddenManifoldSpec,
                                               HyperplanesParitySpec, LinearlySeparableSpec, TwoCurvesDiffSpec,
                                               TwoCurvesSpec)

LOADERS = "qhybrid.data.qml_benchmarks"

DATA.add("linearly_separable", LinearlySeparableSpec, f"{LOADERS}:load_linearly_separable",
         "Bowles et al. 2024: uniform points either side of a hyperplane, outside a margin; 300 x 10")
DATA.add("hidden_manifold", HiddenManifoldSpec, f"{LOADERS}:load_hidden_manifold",
         "Bowles et al. 2024: a 6-dimensional manifold embedded nonlinearly, balanced classes; 300 x 10")
DATA.add("hidden_manifold_diff", HiddenManifoldDiffSpec, f"{LOADERS}:load_hidden_manifold",
         "Bowles et al. 2024: hidden manifold at 10 features, its dimension (difficulty) data.manifold_dimension")
DATA.add("two_curves", TwoCurvesSpec, f"{LOADERS}:load_two_curves",
         "Bowles et al. 2024: two offset noisy Fourier curves of degree 5, balanced classes; 300 x 10")
DATA.add("two_curves_diff", TwoCurvesDiffSpec, f"{LOADERS}:load_two_curves",
         "Bowles et al. 2024: two curves at 10 features, their degree (difficulty) data.degree")
DATA.add("hyperplanes_parity", HyperplanesParitySpec, f"{LOADERS}:load_hyperplanes_parity",
         "Bowles et al. 2024: parity of the sides of data.n_hyperplanes hyperplanes in 3-d, embedded; 300 x 10")
DATA.add("bars_and_stripes", BarsAndStripesSpec, f"{LOADERS}:load_bars_and_stripes",
         "Bowles et al. 2024: noisy 4 x 4 images of bars (-1) or stripes (1); 1200 x 16")

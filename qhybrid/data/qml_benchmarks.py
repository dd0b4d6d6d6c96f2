"""The synthetic data sets of Bowles, Ahmed & Schuld 2024, "Better than classical? The subtle
art of benchmarking quantum machine learning models" (arXiv:2403.07059; XanaduAI/qml-benchmarks),
generated offline with the study's mathematics.

Each study script seeded numpy's global (legacy) RandomState once, then looped over one
parameter (2..20), drawing a data set and its train_test_split(test_size=0.2) permutation from
that one stream each time. Here a private ``RandomState(seed)`` stands in for the global one:
the same stream, without touching numpy's global state. With ``as_published`` the loader first
replays the data sets the script drew earlier (``_earlier``), so that the study's settings give
the published rows exactly, the training file's rows first, then the test file's. The draws are
made in the study's order wherever it matters for that; the arithmetic on them is vectorised.

Labels are the study's -1 and 1 (class "1" is the positive class). Two curves and hyperplanes
are standardised over all rows, as the study's generators did; qhybrid scales each fold again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
from sklearn.preprocessing import StandardScaler

from qhybrid.data.dataset import Dataset, encode_labels
from qhybrid.data.qml_benchmarks_specs import STUDY_GRID
from qhybrid.errors import DataError

STUDY_SAMPLES = 300
STUDY_TEST_FRACTION = 0.2
MARGIN_PER_FEATURE = 0.02  # the study's margin: 0.02 * n_features
MAX_DRAWS = 100  # batches of points tried before a margin or a parity is found too rare


def linearly_separable(rs: np.random.RandomState, n_samples: int, n_features: int,
                       margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points of [-1, 1]^d farther than ``margin`` from the plane sum(x) = 0, labelled
    -1 above it and 1 below (the study's teacher w = (1, ..., 1) and its signs)."""
    kept: list[np.ndarray] = []
    count = 0
    # the study drew 2 n points once; a wide margin can keep fewer, so more batches follow (the
    # study's rows are unchanged by them: they come after)
    for _ in range(MAX_DRAWS):
        X = 2 * rs.rand(2 * n_samples, n_features) - 1
        X = X[np.abs(X.sum(axis=1)) > margin]
        kept.append(X)
        count += len(X)
        if count >= n_samples:
            break
    else:
        raise DataError(f"data=linearly_separable: only {count} of {MAX_DRAWS * 2 * n_samples} uniform points lie "
                        f"outside data.margin={margin:g} in {n_features} dimensions, fewer than data.n_samples="
                        f"{n_samples}", "lower data.margin (null: the study's 0.02 * n_features)")
    X = np.concatenate(kept)[:n_samples]
    return X, np.where(X.sum(axis=1) > 0, -1, 1)


def hidden_manifold(rs: np.random.RandomState, n_samples: int, n_features: int,
                    manifold_dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """Goldt et al.'s hidden manifold model: latent Gaussian points c of the manifold's dimension
    m, features tanh(c F / sqrt(m) - b), labels the sign of a random one-layer network
    v . tanh(W c) / sqrt(m) less its median (exactly half the rows in each class)."""
    m = manifold_dimension
    F = rs.normal(size=(m, n_features))
    C = rs.normal(size=(n_samples, m), loc=0, scale=1)
    biases = 2 * rs.uniform(size=(n_features,)) - 1
    X = np.tanh(C @ F / np.sqrt(m) - biases)
    W = rs.normal(size=(m, m))
    v = rs.normal(size=(m,))
    score = (np.tanh(C @ W.T) / np.sqrt(m)) @ v
    return X, np.where(score - np.median(score) < 0, -1, 1)


def _fourier(t: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """Each feature's Fourier series (coefficients ``coeffs[feature, frequency, cos|sin]``) at
    the curve parameters ``t``: an array (len(t), n_features). The frequencies are summed in the
    study's order, which keeps the values the study's to the last bit or so."""
    t = t[:, None]
    value = np.broadcast_to(coeffs[:, 0, 0] + coeffs[:, 0, 1], (len(t), len(coeffs))).copy()
    for k in range(1, coeffs.shape[1]):
        angle = k * np.pi * t
        value += coeffs[:, k, 0] * np.cos(angle) + coeffs[:, k, 1] * np.sin(angle)
    return value


def _curve_points(rs: np.random.RandomState, n: int, coeffs: np.ndarray, noise: float) -> np.ndarray:
    # a loop over points: the study drew each point's parameter t and then its features' noise,
    # and t = rand() between the normals (whose legacy generator keeps a spare value) cannot be
    # drawn as one array without changing every value
    t = np.empty(n)
    eps = np.empty((n, len(coeffs)))
    for s in range(n):
        t[s] = rs.rand()
        eps[s] = rs.normal(loc=0, scale=noise, size=len(coeffs))
    return _fourier(t, coeffs) + eps


def two_curves(rs: np.random.RandomState, n_samples: int, n_features: int, degree: int, offset: float,
               noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Points of one random curve (a Fourier series of ``degree`` per feature, coefficients
    uniform then normalised together) with Gaussian noise, class -1; as many points of the same
    curve shifted by ``offset`` in every feature, class 1; all standardised."""
    coeffs = rs.uniform(size=(n_features, degree + 1, 2))
    coeffs = coeffs / np.linalg.norm(coeffs)
    half = n_samples // 2
    first = _curve_points(rs, half, coeffs, noise)
    second = _curve_points(rs, half, coeffs, noise) + offset
    X = StandardScaler().fit_transform(np.concatenate([first, second]))
    return X, np.repeat([-1, 1], half)


def hyperplanes_parity(rs: np.random.RandomState, n_samples: int, n_features: int, n_hyperplanes: int,
                       dim_hyperplanes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian points of dim_hyperplanes dimensions classed by the parity of the number of
    random hyperplanes w . x + b = 0 (w, b uniform on [0, 1)) they lie above; the first n / 2 of
    each parity among 4 n draws, embedded by a uniform random linear map, standardised.
    As in the study's files, even parity is class -1 (its generator's +1 rows, relabelled)."""
    weights = rs.uniform(size=(n_hyperplanes, dim_hyperplanes))
    biases = rs.uniform(size=(n_hyperplanes,))
    half = n_samples // 2
    # the study drew 4 n points once; a rare parity (a few samples, or hyperplanes far from the
    # points) can leave fewer than n / 2 of one, so more batches follow (after the study's draws)
    batches: list[np.ndarray] = []
    parities: list[np.ndarray] = []
    for _ in range(MAX_DRAWS):
        batches.append(rs.normal(size=(4 * n_samples, dim_hyperplanes)))
        parities.append(((batches[-1] @ weights.T + biases) > 0).sum(axis=1) % 2 == 1)
        n_odd = sum(int(p.sum()) for p in parities)
        rarer = min(n_odd, len(parities) * 4 * n_samples - n_odd)
        if rarer >= half:
            break
    else:
        raise DataError(f"data=hyperplanes_parity: the hyperplanes drawn from data.seed leave only {rarer} of "
                        f"{MAX_DRAWS * 4 * n_samples} points with the rarer parity, fewer than data.n_samples / 2 "
                        f"= {half}", "try another data.seed")
    points, odd = np.concatenate(batches), np.concatenate(parities)
    even_rows, odd_rows = points[~odd][:half], points[odd][:half]
    embedding = rs.uniform(size=(dim_hyperplanes, n_features))
    X = StandardScaler().fit_transform(np.concatenate([even_rows, odd_rows]) @ embedding)
    return X, np.repeat([-1, 1], half)


def bars_and_stripes(rs: np.random.RandomState, n_samples: int, height: int, width: int,
                     noise_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Images of -1 pixels with a random set of whole rows (a stripe, class 1) or whole columns
    (a bar, class -1) set to 1, plus Gaussian noise; flattened row by row."""
    images = -np.ones((n_samples, height, width))
    y = np.empty(n_samples, dtype=np.int64)
    # a loop over images: each draws rows or columns depending on a coin, so how many numbers
    # an image takes from the stream is known only once its coin is drawn
    for i in range(n_samples):
        if rs.rand() > 0.5:
            images[i, rs.rand(height) > 0.5, :] = 1.0
            y[i] = 1
        else:
            images[i, :, rs.rand(width) > 0.5] = 1.0
            y[i] = -1
        images[i] += rs.normal(0, noise_std, size=(height, width))
    return images.reshape(n_samples, height * width), y


def study_split(rs: np.random.RandomState, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows in the order of the study's files: those train_test_split(test_size=0.2) put in
    the training file, then the test file's; the same permutation it drew from the stream."""
    order = rs.permutation(len(X))
    n_test = math.ceil(STUDY_TEST_FRACTION * len(X))
    rows = np.concatenate([order[n_test:], order[:n_test]])
    return X[rows], y[rows]


Step = tuple[Callable[..., tuple[np.ndarray, np.ndarray]], dict]


def _study_hidden_manifold(stop: int) -> Iterator[Step]:
    for n_features in range(STUDY_GRID.start, stop):
        yield hidden_manifold, dict(n_samples=STUDY_SAMPLES, n_features=n_features, manifold_dimension=6)


def _study_two_curves(stop: int) -> Iterator[Step]:
    for n_features in range(STUDY_GRID.start, stop):
        yield two_curves, dict(n_samples=STUDY_SAMPLES, n_features=n_features, degree=5, offset=0.1, noise=0.01)


def _earlier(spec) -> Iterator[Step]:
    """The data sets the study's script drew before this one from the same seeded stream (each
    followed by its split): generate_linearly_separable.py, generate_hidden_manifold.py (its
    diff loop after its first), generate_two_curves.py (likewise), generate_hyperplanes.py."""
    if spec.name == "linearly_separable":
        for d in range(STUDY_GRID.start, spec.n_features):
            yield linearly_separable, dict(n_samples=STUDY_SAMPLES, n_features=d, margin=MARGIN_PER_FEATURE * d)
    elif spec.name == "hidden_manifold":
        yield from _study_hidden_manifold(spec.n_features)
    elif spec.name == "hidden_manifold_diff":
        yield from _study_hidden_manifold(STUDY_GRID.stop)
        for m in range(STUDY_GRID.start, spec.manifold_dimension):
            yield hidden_manifold, dict(n_samples=STUDY_SAMPLES, n_features=10, manifold_dimension=m)
    elif spec.name == "two_curves":
        yield from _study_two_curves(spec.n_features)
    elif spec.name == "two_curves_diff":
        yield from _study_two_curves(STUDY_GRID.stop)
        for k in range(STUDY_GRID.start, spec.degree):
            yield two_curves, dict(n_samples=STUDY_SAMPLES, n_features=10, degree=k, offset=1 / (2 * k), noise=0.01)
    elif spec.name == "hyperplanes_parity":
        for h in range(STUDY_GRID.start, spec.n_hyperplanes):
            yield hyperplanes_parity, dict(n_samples=STUDY_SAMPLES, n_features=10, n_hyperplanes=h, dim_hyperplanes=3)


def _stream(spec) -> np.random.RandomState:
    rs = np.random.RandomState(spec.seed)
    if spec.as_published:
        for generate, params in _earlier(spec):
            study_split(rs, *generate(rs, **params))
    return rs


def _dataset(spec, X: np.ndarray, y: np.ndarray, feature_names: list[str]) -> Dataset:
    labels, classes = encode_labels(y, None, source=f"data={spec.name}")
    return Dataset(name=spec.name, X=np.ascontiguousarray(X, dtype=np.float64), y=labels, classes=classes,
                   feature_names=feature_names)


def _study_dataset(spec, generate: Callable[..., tuple[np.ndarray, np.ndarray]], **params) -> Dataset:
    rs = _stream(spec)
    X, y = study_split(rs, *generate(rs, n_samples=spec.n_samples, n_features=spec.n_features, **params))
    return _dataset(spec, X, y, [f"x{j}" for j in range(spec.n_features)])


def load_linearly_separable(spec) -> Dataset:
    margin = MARGIN_PER_FEATURE * spec.n_features if spec.margin is None else spec.margin
    return _study_dataset(spec, linearly_separable, margin=margin)


def load_hidden_manifold(spec) -> Dataset:
    return _study_dataset(spec, hidden_manifold, manifold_dimension=spec.manifold_dimension)


def load_two_curves(spec) -> Dataset:
    offset = 1 / (2 * spec.degree) if spec.offset is None else spec.offset
    return _study_dataset(spec, two_curves, degree=spec.degree, offset=offset, noise=spec.noise)


def load_hyperplanes_parity(spec) -> Dataset:
    return _study_dataset(spec, hyperplanes_parity, n_hyperplanes=spec.n_hyperplanes,
                          dim_hyperplanes=spec.dim_hyperplanes)


def load_bars_and_stripes(spec) -> Dataset:
    height, width = spec.image_shape()
    X, y = bars_and_stripes(np.random.RandomState(spec.seed), spec.n_samples, height, width, spec.noise_std)
    names = [f"pixel_{r}_{c}" for r in range(height) for c in range(width)]
    return _dataset(spec, X, y, names)

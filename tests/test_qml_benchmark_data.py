"""The data sets of Bowles, Ahmed & Schuld 2024 (XanaduAI/qml-benchmarks): the published rows
reproduced, the study's statistics for other settings, seeds, and bad values refused.

The figures below were read from the study's published CSVs (repository XanaduAI/qml-benchmarks,
folder paper/plots/datasets-for-plots/, commit 0bbf848), which CI does not have: per file pair
<stem>_train.csv / <stem>_test.csv, the rows of each class and the column means of the features.
The loaders put the training file's rows first (240 of 300), then the test file's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import fast
from qhybrid.data import load_dataset
from qhybrid.data import qml_benchmarks as qb
from qhybrid.data.options import DATA
from qhybrid.data.spec import DataCommon
from qhybrid.errors import ConfigError, DataError
from qhybrid.schema import validate

NAMES = ["linearly_separable", "hidden_manifold", "hidden_manifold_diff", "two_curves", "two_curves_diff",
         "hyperplanes_parity", "bars_and_stripes"]

# stem (under paper/plots/datasets-for-plots/) -> (the data set and settings that give it, class counts (-1, 1)
# of the train file, of the test file, column means of the train file, of the test file)
PUBLISHED = {
    "linearly_separable/linearly_separable_10d": (
        ("linearly_separable", {}), (112, 128), (29, 31),
        [0.0378673761057289, 0.02812121493590426, -0.017730825685178038, -0.055339106958386466,
         0.0035970558267067114, -0.08322543749065701, -0.06381355393670411, 0.011324803343215145,
         -0.012811485004055824, 0.0143657634573782],
        [-0.03020737665878418, 0.07925170733618608, -0.05295104593673862, -0.08587991936787702,
         0.09618494857501038, -0.08109520878403266, -0.06135170192833372, 0.0117634791251189,
         -0.03209555265521174, 0.016505394668361366]),
    "linearly_separable/linearly_separable_3d": (
        ("linearly_separable", {"n_features": 3}), (120, 120), (28, 32),
        [0.002425160377470294, -0.0028567211766899804, -0.020817897480218048],
        [-0.11525044279041134, 0.06647902581817895, -0.11446479456175009]),
    "hidden_manifold_model/hidden_manifold-6manifold-10d": (
        ("hidden_manifold", {}), (115, 125), (35, 25),
        [-0.374721588859579, -0.436648626734396, 0.2504570713987216, 0.32243687245946245, 0.34121343989055136,
         0.0665719488984522, 0.4845712554603204, 0.4904136322744131, -0.30622370319117737, -0.03000221330229781],
        [-0.40063258302846305, -0.3302365336945584, 0.2981180797816921, 0.4337658982872928, 0.4242253002142552,
         0.05971197002326267, 0.3667657094308729, 0.4605379293917837, -0.34320191724206633,
         -0.16578494020433426]),
    # drawn by the study's plot script: seeded afresh, no loop before it
    "hidden_manifold_model/hidden_manifold-3d-2manifold": (
        ("hidden_manifold", {"n_features": 3, "manifold_dimension": 2, "as_published": False}),
        (123, 117), (27, 33),
        [-0.12155753665951466, -0.572845228617281, 0.6282173165472266],
        [-0.0822034393303819, -0.5709466982715559, 0.6219927804487101]),
    "two_curves/two_curves-5degree-0.1offset-10d": (
        ("two_curves", {}), (119, 121), (31, 29),
        [-0.00701253661711879, 0.0024360803379738457, 0.012193563256931224, 0.012623759509468003,
         0.030885145616055414, 0.013026951594013535, 0.014918757681838165, 0.0018362587761207058,
         -0.0013286838782025018, -0.00011265758372414475],
        [0.02805014646847682, -0.009744321351896668, -0.04877425302771559, -0.05049503803787044,
         -0.12354058246421909, -0.052107806376052515, -0.05967503072735179, -0.007345035104487285,
         0.005314735512809731, 0.0004506303348873771]),
    "two_curves_diff/two_curves-10d-10degree": (
        ("two_curves_diff", {}), (123, 117), (27, 33),
        [-0.02332423188323848, -0.04276130505232234, -0.0377561089848062, -0.05459510206947329,
         -0.035969043678888445, -0.04669728551536042, -0.06758048381017301, -0.0351468260418259,
         -0.025383373710974048, -0.038673322291053816],
        [0.09329692753295263, 0.1710452202092908, 0.1510244359392257, 0.21838040827789323, 0.14387617471555417,
         0.18678914206144073, 0.27032193524069115, 0.14058730416730508, 0.10153349484389568,
         0.15469328916421687]),
    "two_curves_diff/two_curves-10d-20degree": (
        ("two_curves_diff", {"degree": 20}), (126, 114), (24, 36),
        [-0.02703925116809489, -0.003032413101952102, -0.007669127971367681, -0.016925297268794905,
         -0.026390874530027773, -0.007350638295859429, -0.01483428753491478, -0.008679808621352968,
         -0.0007730812774049893, 0.0013076593581509703],
        [0.10815700467238125, 0.012129652407809404, 0.030676511885468563, 0.06770118907518359,
         0.10556349812010683, 0.029402553183438096, 0.05933715013966143, 0.034719234485412004,
         0.0030923251096199424, -0.005230637432604131]),
}


def _spec(name: str, **values):
    """The checked spec of data=<name> with ``values`` (the YAML defaults are the schema's,
    test_each_yaml_is_the_schemas_defaults): no Hydra composition, which would take most of the time."""
    spec = DATA.get(name).schema(**values)
    spec.check()
    return spec


def _data(name: str, **values):
    return load_dataset(_spec(name, **values))


def _counts(y: np.ndarray) -> tuple[int, int]:
    return int((y == 0).sum()), int((y == 1).sum())


@pytest.mark.parametrize("stem", PUBLISHED)
def test_the_studys_settings_give_its_published_rows(stem):
    (name, values), train_counts, test_counts, train_means, test_means = PUBLISHED[stem]
    data = _data(name, **values)
    assert data.X.shape == (300, len(train_means)) and data.classes == ["-1", "1"]
    assert _counts(data.y[:240]) == train_counts and _counts(data.y[240:]) == test_counts
    np.testing.assert_allclose(data.X[:240].mean(axis=0), train_means, rtol=0, atol=1e-12)
    np.testing.assert_allclose(data.X[240:].mean(axis=0), test_means, rtol=0, atol=1e-12)


def test_hyperplanes_have_the_published_statistics():
    # hyperplanes_parity/hyperplanes-2d-from2d-5n_{train,test}.csv (the study's plot script: 300 x 2,
    # 5 hyperplanes in 2 dimensions, seed 1): 117 + 33 rows of class -1, 123 + 27 of class 1, each
    # column standardised. Their values are not reproduced: the script's generator (imported from a
    # module the repository no longer has) drew differently from the published one, which this is.
    data = _data("hyperplanes_parity", n_features=2, dim_hyperplanes=2, n_hyperplanes=5, as_published=False)
    assert data.X.shape == (300, 2) and data.classes == ["-1", "1"] and _counts(data.y) == (150, 150)
    np.testing.assert_allclose(data.X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.X.std(axis=0), 1, atol=1e-12)


def test_bars_and_stripes_give_the_published_images():
    # bars_and_stripes/bars_and_stripes_16_x_16_0.5noise.csv (the study's plot script: 50 images
    # of 16 x 16, seed 42): its pixels are these; its labels are the negatives of these, since that
    # script called rows bars (-1), and the study's generator, which made the benchmark, stripes (1)
    data = _data("bars_and_stripes", n_samples=50, height=16, width=16)
    assert data.X.shape == (50, 256) and data.classes == ["-1", "1"]
    assert abs(data.X.mean() - -0.0715236815747357) < 1e-12
    np.testing.assert_allclose(data.X[:, :4].mean(axis=0), [-0.06848506679137877, -0.04586510310392126,
                                                            0.15641379513059273, -0.22799125301128556], atol=1e-12)
    assert _counts(data.y) == (21, 29)
    assert [data.classes[k] for k in data.y[:5]] == ["-1", "1", "-1", "1", "-1"]  # the file's: 1, -1, 1, -1, 1


@pytest.mark.parametrize("name", NAMES)
def test_each_default_is_the_studys_shape_and_balance(name, compose):
    spec = validate(compose([f"data={name}"])).data
    # the YAML's values are the schema's defaults (the model may set the keys every data set has)
    own = set(asdict(spec)) - {f.name for f in fields(DataCommon)}
    assert {k: getattr(spec, k) for k in own} == {k: getattr(DATA.get(name).schema(), k) for k in own}
    data = load_dataset(spec)
    rows, features = (1200, 16) if name == "bars_and_stripes" else (300, 10)
    assert data.X.shape == (rows, features) and data.classes == ["-1", "1"] and data.name == name
    assert np.isfinite(data.X).all()
    if name in ("linearly_separable", "bars_and_stripes"):  # classes drawn at random, not halved
        assert 0.4 < data.y.mean() < 0.6
    else:
        assert _counts(data.y) == (rows // 2, rows // 2)


ranks = st.integers(1, 12)
even = st.integers(1, 40).map(lambda k: 2 * k)
seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 80), d=ranks, seed=seeds, per_feature=st.floats(0, 0.3))
def test_linearly_separable_keeps_the_margin(n, d, seed, per_feature):
    X, y = qb.linearly_separable(np.random.RandomState(seed), n, d, per_feature * d)
    sums = X.sum(axis=1)
    assert X.shape == (n, d) and (np.abs(X) <= 1).all() and (np.abs(sums) > per_feature * d).all()
    np.testing.assert_array_equal(y, np.where(sums > 0, -1, 1))


@settings(max_examples=20, deadline=None)
@given(n=even, d=ranks, m=ranks, seed=seeds)
def test_hidden_manifold_is_halved_by_the_median(n, d, m, seed):
    X, y = qb.hidden_manifold(np.random.RandomState(seed), n, d, m)
    assert X.shape == (n, d) and (np.abs(X) <= 1).all()  # tanh of the embedding
    assert (y == 1).sum() == (y == -1).sum() == n // 2


@settings(max_examples=20, deadline=None)
@given(n=even, d=ranks, degree=st.integers(1, 12), offset=st.floats(0, 2), noise=st.floats(0, 0.5), seed=seeds)
def test_two_curves_are_balanced_and_standardised(n, d, degree, offset, noise, seed):
    X, y = qb.two_curves(np.random.RandomState(seed), n, d, degree, offset, noise)
    assert X.shape == (n, d) and (y == 1).sum() == (y == -1).sum() == n // 2
    assert np.allclose(X.mean(axis=0), 0, atol=1e-9) and np.allclose(X.std(axis=0), 1)


@settings(max_examples=20, deadline=None)
@given(n=even, d=ranks, h=st.integers(1, 20), k=st.integers(1, 4), seed=seeds)
def test_hyperplanes_are_balanced_and_embedded(n, d, h, k, seed):
    k = min(k, d)
    try:
        X, y = qb.hyperplanes_parity(np.random.RandomState(seed), n, d, h, k)
    except DataError as err:  # hyperplanes that (nearly) all points lie on one side of
        assert "the rarer parity" in str(err) and "Fix: try another data.seed" in str(err)
        return
    assert X.shape == (n, d) and (y == 1).sum() == (y == -1).sum() == n // 2
    assert np.linalg.matrix_rank(X) <= k  # a linear image of k dimensions, centred and scaled


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 60), height=st.integers(1, 6), width=st.integers(1, 6), seed=seeds)
def test_bars_and_stripes_without_noise_are_whole_rows_or_columns(n, height, width, seed):
    X, y = qb.bars_and_stripes(np.random.RandomState(seed), n, height, width, 0.0)
    images = X.reshape(n, height, width)
    assert X.shape == (n, height * width) and set(np.unique(X)) <= {-1.0, 1.0}
    rows_constant = (images == images[:, :, :1]).all(axis=(1, 2))
    columns_constant = (images == images[:, :1, :]).all(axis=(1, 2))
    assert (rows_constant[y == 1]).all() and (columns_constant[y == -1]).all()


def test_a_rare_parity_draws_more_points_and_an_absent_one_is_one_line():
    # one hyperplane in 1-d, odd parity x > -b / w: seed 0 puts it at x > -1.3, which about 10 %
    # of the points miss, fewer than 100 of the first 800
    X, y = qb.hyperplanes_parity(np.random.RandomState(0), 200, 2, 1, 1)
    assert X.shape == (200, 2) and (y == 1).sum() == (y == -1).sum() == 100
    with pytest.raises(DataError, match="the rarer parity"):  # seed 9: x > -48, every point
        qb.hyperplanes_parity(np.random.RandomState(9), 200, 2, 1, 1)


def test_a_wide_margin_draws_more_points_and_an_impossible_one_is_one_line():
    X, _ = qb.linearly_separable(np.random.RandomState(0), 200, 2, 1.5)  # keeps about 1 point in 8
    assert len(X) == 200 and (np.abs(X.sum(axis=1)) > 1.5).all()
    with pytest.raises(DataError, match="lower data.margin"):
        qb.linearly_separable(np.random.RandomState(0), 50, 8, 7.9)


@pytest.mark.parametrize("name", NAMES)
def test_the_seed_decides_the_data(name):
    small = {"n_samples": 40, "height" if name == "bars_and_stripes" else "n_features": 3}
    first, again, other = _data(name, **small), _data(name, **small), _data(name, **small, seed=7)
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.y, again.y)
    assert not np.allclose(first.X, other.X)


def test_replaying_the_study_changes_the_draws_after_its_first_data_set():
    def rows(d: int, replay: bool):
        return _data("linearly_separable", n_features=d, as_published=replay).X

    # the study's loop starts at 2 features: nothing comes before it to replay
    np.testing.assert_array_equal(rows(2, True), rows(2, False))
    assert not np.allclose(rows(3, True), rows(3, False))


BAD = [
    ("linearly_separable", {"margin": 10.0}, "data.margin=10.0 leaves no point"),
    ("linearly_separable", {"margin": -0.1}, "data.margin=-0.1 is out of range"),
    ("linearly_separable", {"n_features": 25}, "data.n_features=25 is not on the study's grid"),
    ("hidden_manifold", {"n_samples": 301}, "data.n_samples=301 is odd"),
    ("hidden_manifold", {"seed": -1}, "data.seed=-1 is out of range"),
    ("hidden_manifold", {"seed": 2**32}, "data.seed=4294967296 is out of range"),
    ("hidden_manifold_diff", {"manifold_dimension": 0}, "data.manifold_dimension=0 is not on the study's grid"),
    ("hidden_manifold_diff", {"manifold_dimension": 0, "as_published": False},
     "data.manifold_dimension=0 is out of range"),
    ("two_curves", {"noise": -1.0}, "data.noise=-1.0 is out of range"),
    ("two_curves", {"offset": -0.5}, "data.offset=-0.5 is out of range"),
    ("two_curves_diff", {"degree": 21}, "data.degree=21 is not on the study's grid"),
    ("hyperplanes_parity", {"dim_hyperplanes": 11}, "data.dim_hyperplanes=11 exceeds data.n_features=10"),
    ("hyperplanes_parity", {"n_hyperplanes": 1}, "data.n_hyperplanes=1 is not on the study's grid"),
    ("bars_and_stripes", {"height": 0}, "data.height=0 is out of range"),
    ("bars_and_stripes", {"noise_std": -0.5}, "data.noise_std=-0.5 is out of range"),
]


@pytest.mark.parametrize("name,values,expected", BAD, ids=[f"{b[0]}-{b[1]}" for b in BAD])
def test_bad_values_are_one_line_with_a_fix(name, values, expected):
    with pytest.raises(ConfigError) as err:
        _spec(name, **values)
    message = str(err.value)
    assert expected in message and "\n" not in message and "Fix:" in message


@pytest.mark.parametrize("overrides,expected", [
    (["data=two_curves", "data.n_features=0"], "data.n_features=0 is out of range. Fix: set data.n_features"),
    (["data=bars_and_stripes", "+data.as_published=false"], "unknown config key data.as_published"),
])
def test_bad_values_on_the_command_line_are_refused_at_validation(overrides, expected, compose):
    with pytest.raises(ConfigError, match=expected):
        validate(compose(overrides))


def test_off_the_grid_is_fine_seeded_afresh():
    data = _data("hyperplanes_parity", n_hyperplanes=1, as_published=False)
    assert data.X.shape == (300, 10) and _counts(data.y) == (150, 150)


def test_a_study_data_set_trains_end_to_end(cli, tmp_path):
    run = tmp_path / "run"
    code, out, err = cli(["train", "model=g0", "data=hidden_manifold", "data.n_features=4", *fast(),
                          f"hydra.run.dir={run}"])
    assert code == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_features"] == 4 and metrics["classes"] == ["-1", "1"]


def test_bars_and_stripes_takes_its_pixels_as_n_features_too(compose):
    from qhybrid.data import load_dataset
    from qhybrid.errors import ConfigError
    from qhybrid.schema import validate

    spec = validate(compose(["data=bars_and_stripes", "data.n_features=10", "data.n_samples=40"]))
    data = load_dataset(spec.data, spec.task)
    assert data.n_features == 10 and data.feature_names[-1] == "pixel_1_4"  # 2 x 5
    for overrides, words in ((["data.n_features=7"], "at least 2 rows and 2 columns"),
                             (["data.n_features=9", "data.height=2", "data.width=3"], "disagree")):
        with pytest.raises(ConfigError, match=words):
            validate(compose(["data=bars_and_stripes", *overrides]))

"""scikit-learn's diabetes data: disease progression one year after baseline, a regression target."""

import numpy as np
from sklearn import datasets

from qhybrid.data.dataset import Dataset
from qhybrid.data.options import DATA
from qhybrid.data.spec import BuiltinDataSpec


def load(spec) -> Dataset:
    # the original units: scikit-learn's default copy is already standardised with every row's
    # statistics, and qhybrid fits its scaler on each fold's training rows only
    bunch = datasets.load_diabetes(scaled=False)
    return Dataset(name="diabetes", X=np.asarray(bunch.data, dtype=np.float64),
                   y=np.asarray(bunch.target, dtype=np.float64), classes=[],
                   feature_names=[str(f) for f in bunch.feature_names], regression=True)


DATA.add("diabetes", BuiltinDataSpec, load,
         "diabetes progression (regression): 442 rows, 10 features, a continuous target (25-346)")

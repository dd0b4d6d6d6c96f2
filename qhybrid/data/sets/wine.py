"""scikit-learn's wine recognition data (UCI): three cultivars from 13 chemical measurements."""

from sklearn import datasets

from qhybrid.data.builtin import from_bunch
from qhybrid.data.options import DATA
from qhybrid.data.spec import BuiltinDataSpec


def load(spec):
    return from_bunch("wine", datasets.load_wine(), None, spec.positive_class)


DATA.add("wine", BuiltinDataSpec, load, "wine recognition: 178 rows, 13 features, 3 cultivars")

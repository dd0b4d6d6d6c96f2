"""Data sets bundled with scikit-learn: no download, no network."""

from qhybrid.data.options import DATA
from qhybrid.data.spec import BuiltinDataSpec

DATA.add("iris", BuiltinDataSpec, "qhybrid.data.builtin:iris", "Fisher's Iris: 150 rows, 4 features, 3 classes")
DATA.add("iris_binary", BuiltinDataSpec, "qhybrid.data.builtin:iris_binary",
         "Iris versicolor vs virginica: 100 rows, 4 features, 2 classes")
DATA.add("breast_cancer", BuiltinDataSpec, "qhybrid.data.builtin:breast_cancer",
         "Wisconsin diagnostic breast cancer: 569 rows, 30 features, 2 classes")

"""data=wine: the bundled data set added as a YAML and one module (qhybrid/data/sets/wine.py)."""

import pytest

from qhybrid.data import load_dataset
from qhybrid.errors import QHybridError
from qhybrid.schema import validate


def test_wine_loads_as_the_uci_table(compose):
    data = load_dataset(validate(compose(["data=wine"])).data)
    assert data.X.shape == (178, 13)
    assert data.classes == ["class_0", "class_1", "class_2"]
    assert [int((data.y == k).sum()) for k in range(3)] == [59, 71, 48]
    assert "alcohol" in data.feature_names


def test_a_class_that_is_not_there_is_refused(compose):
    with pytest.raises(QHybridError, match="positive_class"):
        load_dataset(validate(compose(["data=wine", "data.positive_class=merlot"])).data)

"""Genotypes from the Balding-Nichols model, PCA fitted inside the fold, the experiment."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from helpers import fast
from qhybrid.data.genomics import balding_nichols
from qhybrid.data.preprocess import FoldPreprocessor


def test_genotypes_are_allele_counts_with_the_asked_differentiation():
    X, labels = balding_nichols(n_populations=3, n_samples=3000, n_snps=4000, fst=0.05, seed=1)
    assert X.shape == (3000, 4000) and set(np.unique(X)) == {0.0, 1.0, 2.0}
    assert np.bincount(labels).tolist() == [1000, 1000, 1000]
    # F_ST from the populations' allele frequencies: var_k(p_k) / (mean p (1 - mean p)), averaged
    freqs = np.stack([X[labels == k].mean(axis=0) / 2 for k in range(3)])
    mean = freqs.mean(axis=0)
    fst = (freqs.var(axis=0, ddof=1) / (mean * (1 - mean))).mean()
    assert 0.04 < fst < 0.06
    X2, _ = balding_nichols(3, 3000, 4000, 0.05, seed=1)
    assert np.array_equal(X, X2)  # seeded


def test_pca_matches_scikit_learn_and_sees_only_the_training_rows():
    X, _ = balding_nichols(3, 200, 300, 0.05, seed=2)
    train, test = X[:150], X[150:]
    pre = FoldPreprocessor("standard", pca=4).fit(train)
    scaler = StandardScaler().fit(train)
    reference = PCA(n_components=4, svd_solver="full", whiten=True).fit(scaler.transform(train))
    ours = pre.transform(test)
    theirs = reference.transform(scaler.transform(test))
    np.testing.assert_allclose(np.abs(ours), np.abs(theirs), atol=1e-8)  # components up to sign
    assert ours.shape == (50, 4)
    test[:] = 2 - test  # changing the test rows changes nothing that is fitted
    moved = FoldPreprocessor("standard", pca=4).fit(train)
    for key in pre.params:
        np.testing.assert_array_equal(pre.params[key], moved.params[key])
    restored = FoldPreprocessor.from_state_dict(pre.state_dict())
    np.testing.assert_array_equal(restored.transform(train[:5]), pre.transform(train[:5]))


def test_genomics_experiment_separates_populations(tmp_path, compose):
    from qhybrid.run import train

    # the experiment's model and early stopping; 2 folds, no baselines or INT8 export
    cfg = compose(["experiment=genomics", "data.n_samples=150", "data.n_snps=300", "trainer.max_epochs=40",
                   *fast(keep=["trainer.max_epochs", "trainer.early_stopping.patience"])])
    metrics = train(cfg, tmp_path / "run")
    assert metrics["n_features"] == 300 and metrics["classes"] == ["pop0", "pop1", "pop2"]
    assert metrics["summary"]["accuracy"]["mean"] >= 0.9


def test_a_genotype_csv_replaces_the_simulation(tmp_path, compose):
    import pandas as pd
    import pytest

    from qhybrid.data import load_dataset
    from qhybrid.errors import DataError
    from qhybrid.schema import validate

    X, labels = balding_nichols(3, 60, 40, 0.1, seed=3)
    table = pd.DataFrame(X.astype(int), columns=[f"rs{j}" for j in range(40)])
    table["population"] = np.array(["CEU", "YRI", "CHB"])[labels]
    path = tmp_path / "genotypes.csv"
    table.to_csv(path, index=False)
    data = load_dataset(validate(compose(["data=genomics", f"data.path={path}"])).data)
    np.testing.assert_array_equal(data.X, X)
    assert data.classes == ["CEU", "CHB", "YRI"] and data.feature_names[0] == "rs0"
    table.loc[5, "rs7"] = 3
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match="column 'rs7' holds '3' on line 7"):
        load_dataset(validate(compose(["data=genomics", f"data.path={path}"])).data)

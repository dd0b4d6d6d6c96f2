"""Genotypes of K populations: synthetic from the Balding-Nichols model, or a user's CSV.

Balding-Nichols (Balding & Nichols 1995): for each SNP an ancestral allele frequency p is
drawn (uniform on [0.1, 0.9] here, avoiding nearly monomorphic SNPs); each population's
frequency is Beta(p (1 - F) / F, (1 - p)(1 - F) / F), which has mean p and variance
F p (1 - p), F being Wright's fixation index F_ST; an individual's genotype at the SNP is
Binomial(2, its population's frequency): 0, 1 or 2 copies of the allele. The population is
the (multiclass) target. PCA to a few components is fitted inside each fold's training
rows (qhybrid.data.preprocess), never on all samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qhybrid.data.checks import counted, read_labels
from qhybrid.data.dataset import Dataset, encode_labels
from qhybrid.data.table import read_table, unnamed_to_ignore
from qhybrid.errors import DataError


def balding_nichols(n_populations: int, n_samples: int, n_snps: int, fst: float, seed: int,
                    ancestral_range: tuple[float, float] = (0.1, 0.9)) -> tuple[np.ndarray, np.ndarray]:
    """Genotypes (n_samples, n_snps) in {0, 1, 2} and population labels 0..K-1 (balanced,
    the remainder spread over the first populations)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(*ancestral_range, size=n_snps)
    shape = (1.0 - fst) / fst
    freqs = rng.beta(p * shape, (1.0 - p) * shape, size=(n_populations, n_snps))
    labels = np.arange(n_samples) % n_populations
    rng.shuffle(labels)
    genotypes = rng.binomial(2, freqs[labels]).astype(np.float64)
    return genotypes, labels


def genotypes_from_csv(path_value: str, target: str) -> Dataset:
    """A user's genotype table: one row per individual, one column per SNP holding 0, 1 or 2
    (allele copies), and the population in column ``target``."""
    table = read_table(path_value, "data.path", header=True, sep=",", sep_key=None, text_columns=(target,))
    if target not in table.frame.columns:
        raise DataError(f"data.target={target!r} is not a column of {table.path}",
                        "name the population column with data.target=<column>")
    labels, no_label = read_labels(table, target)
    if no_label.any():
        rows = np.flatnonzero(no_label)
        raise DataError(f"{table.where}: {counted(rows.size, 'row')} with no population in column {target!r}: "
                        f"{table.rows_text(rows)}", "fill in the population or delete those rows")
    snps = table.frame.drop(columns=[target, *unnamed_to_ignore(table)])
    values = snps.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isin(values, (0.0, 1.0, 2.0))
    if bad.any():
        column = int(np.flatnonzero(bad.any(axis=0))[0])
        rows = np.flatnonzero(bad[:, column])
        cell = snps.iat[rows[0], column]
        shown = "an empty cell" if pd.isna(cell) else repr(str(cell))
        raise DataError(f"{table.where}: column {snps.columns[column]!r} holds {shown} on {table.rows_text(rows[:1])} "
                        f"({counted(rows.size, 'such cell')} in that column, {int(bad.sum())} in the file); "
                        "genotypes are allele counts 0, 1 or 2",
                        "recode the genotypes (missing calls: impute them first)")
    y, classes = encode_labels(labels, None, source=table.where, target=target)
    return Dataset(name="genomics", X=values, y=y, classes=classes, feature_names=[str(c) for c in snps.columns])


def load_genomics(spec) -> Dataset:
    if spec.path is not None:
        data = genotypes_from_csv(spec.path, spec.target)
        if spec.pca_components > data.n_features:
            raise DataError(f"data.pca_components={spec.pca_components} exceeds the {data.n_features} SNP columns of "
                            f"{spec.path}", "keep at most as many components as SNPs")
        return data
    X, labels = balding_nichols(spec.n_populations, spec.n_samples, spec.n_snps, spec.fst, spec.seed)
    names = np.asarray([f"pop{k}" for k in range(spec.n_populations)], dtype=object)
    y, classes = encode_labels(names[labels], None, source="data=genomics")
    return Dataset(name="genomics", X=X, y=y, classes=classes, feature_names=[f"snp{j}" for j in range(X.shape[1])])

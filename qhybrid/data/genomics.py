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

from qhybrid.data.dataset import Dataset, encode_labels


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


def load_genomics(spec) -> Dataset:
    X, labels = balding_nichols(spec.n_populations, spec.n_samples, spec.n_snps, spec.fst, spec.seed)
    names = np.asarray([f"pop{k}" for k in range(spec.n_populations)], dtype=object)
    y, classes = encode_labels(names[labels], None, source="data=genomics")
    return Dataset(name="genomics", X=X, y=y, classes=classes, feature_names=[f"snp{j}" for j in range(X.shape[1])])

"""Per-fold preprocessing: optional median imputation, a scaler, optional PCA, and one-hot
columns for categorical features (data.categorical).

Fitted with scikit-learn on the training rows of one fold only, then reduced to plain
arrays so a checkpoint can carry it without pickled objects (it loads with
``torch.load(weights_only=True)``). ``transform`` applies the same arithmetic as
scikit-learn's ``transform``; a test holds the two equal.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

_SCALERS = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}


def _scale(X: np.ndarray, params: dict[str, np.ndarray], scaler: str) -> np.ndarray:
    """The scaler's arithmetic on a copy of X (as scikit-learn's transform)."""
    X = np.array(X, dtype=np.float64, copy=True)
    if scaler == "minmax":
        X *= params["scale"]
        X += params["offset"]
    else:
        X -= params["center"]
        X /= params["scale"]
    return X


class FoldPreprocessor:
    def __init__(self, scaler: str, impute: bool = False, pca: int = 0, categories: Optional[dict[int, list]] = None):
        if scaler not in _SCALERS:
            raise ValueError(f"unknown scaler {scaler!r}; expected one of {sorted(_SCALERS)}")
        self.scaler = scaler
        self.impute = impute
        self.pca = int(pca)  # > 0: project the scaled features on this many principal components
        # column index -> its categories (X holds each row's index into them; -1: missing): one-hot
        # columns after the scaled numeric ones, a category the fit rows never show all zeros
        self.categories = {int(k): list(v) for k, v in (categories or {}).items()}
        self.params: dict[str, np.ndarray] = {}

    def n_outputs(self, n_features: int) -> int:
        """The model's inputs: PCA's components, or the numeric columns and one per category."""
        if self.pca:
            return self.pca
        return n_features - len(self.categories) + sum(len(v) for v in self.categories.values())

    def _numeric(self, X: np.ndarray) -> np.ndarray:
        return np.delete(X, sorted(self.categories), axis=1) if self.categories else X

    def _one_hot(self, X: np.ndarray) -> list[np.ndarray]:
        blocks = []
        for column, names in sorted(self.categories.items()):
            codes = X[:, column].astype(np.int64)
            block = np.zeros((len(X), len(names)))
            known = (codes >= 0) & (codes < len(names))
            block[np.flatnonzero(known), codes[known]] = 1.0
            blocks.append(block * self.params[f"seen_{column}"])  # unseen in the fit rows: no signal
        return blocks

    def fit(self, X: np.ndarray) -> FoldPreprocessor:
        X = np.asarray(X, dtype=np.float64)
        params: dict[str, np.ndarray] = {}
        for column, names in self.categories.items():
            codes = X[:, column].astype(np.int64)
            params[f"seen_{column}"] = np.isin(np.arange(len(names)), codes).astype(np.float64)
        X = self._numeric(X)
        width = X.shape[1]  # 0 when every feature is categorical: scikit-learn fits no zero columns
        if self.impute:
            params["fill"] = np.zeros(0)
            if width:
                imputer = SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
                params["fill"] = imputer.statistics_.astype(np.float64)
                X = imputer.transform(X)
        fitted = _SCALERS[self.scaler]().fit(X if width else np.zeros((len(X), 1)))
        if self.scaler == "standard":
            params["center"], params["scale"] = fitted.mean_[:width], fitted.scale_[:width]
        elif self.scaler == "robust":
            params["center"], params["scale"] = fitted.center_[:width], fitted.scale_[:width]
        else:
            params["scale"], params["offset"] = fitted.scale_[:width], fitted.min_[:width]
        if self.pca:
            if self.pca > min(X.shape):
                raise ValueError(f"PCA to {self.pca} components needs at least that many rows and features, "
                                 f"got {X.shape}")
            scaled = _scale(X, params, self.scaler)
            # whitened: unit-variance components (raw scores of 1000 SNPs are ~10x larger and
            # saturate the encoder's tanh)
            fitted_pca = PCA(n_components=self.pca, svd_solver="full", whiten=True).fit(scaled)
            params["pca_mean"], params["pca_components"] = fitted_pca.mean_, fitted_pca.components_
            params["pca_scale"] = np.sqrt(fitted_pca.explained_variance_)
        self.params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if not self.params:
            raise RuntimeError("FoldPreprocessor.transform called before fit")
        X = np.array(X, dtype=np.float64, copy=True)
        if self.categories:
            return np.hstack([self._transform_numeric(self._numeric(X)), *self._one_hot(X)])
        return self._transform_numeric(X)

    def _transform_numeric(self, X: np.ndarray) -> np.ndarray:
        if "fill" in self.params:
            rows, cols = np.nonzero(np.isnan(X))
            X[rows, cols] = self.params["fill"][cols]
        X = _scale(X, self.params, self.scaler)
        if "pca_components" in self.params:
            X = (X - self.params["pca_mean"]) @ self.params["pca_components"].T / self.params["pca_scale"]
        return X

    def state_dict(self) -> dict[str, Any]:
        return {
            "scaler": self.scaler,
            "impute": self.impute,
            "pca": self.pca,
            "categories": {str(k): v for k, v in self.categories.items()},
            "params": {k: torch.from_numpy(v.copy()) for k, v in self.params.items()},
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> FoldPreprocessor:
        pre = cls(state["scaler"], impute=bool(state["impute"]), pca=int(state.get("pca", 0)),
                  categories={int(k): v for k, v in (state.get("categories") or {}).items()})
        pre.params = {k: v.detach().cpu().numpy().astype(np.float64) for k, v in state["params"].items()}
        return pre

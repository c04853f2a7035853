"""The pieces of AttentionReadout that are not the estimator: token-feature checks and the torch module
(defined on first use, so that torch is imported only when a readout is fitted)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..utils import check_real, soft_import
from ._base import is_dataarray, to_numpy, unwrap

__all__ = ["net_class", "token_features"]


def token_features(X: Any, token_mask: Any, name: str = "X") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Token features as float32 (n, T, D), a boolean mask (n, T) of real tokens, and row ids."""
    if is_dataarray(X) and token_mask is None and "token_mask" in X.coords:
        token_mask, _ = unwrap(X["token_mask"], "token_mask", ("token",), exact=True)
    X, ids = unwrap(
        X,
        name,
        ("token", "unit"),
        exact=True,
        hint="Token-level features come from e.g. brainalign.models.huggingface.extract_text(..., pool='token').",
    )
    values = np.asarray(to_numpy(X))
    if values.ndim != 3:
        raise ValueError(
            f"{name} must be token-level features of shape (presentation, token, unit), got shape {values.shape}. "
            "For one vector per presentation use RidgeEncoder."
        )
    check_real(values, name)
    if values.dtype.kind not in "biuf" or 0 in values.shape:
        raise ValueError(f"{name} must be a non-empty array of real numbers, got {values.dtype}, shape {values.shape}.")
    with np.errstate(invalid="ignore"):
        peak = float(np.nanmax(np.abs(values[np.isfinite(values)]), initial=0.0))
    if peak > 1e30 or 0 < peak < 1e-30:
        raise ValueError(
            f"{name} has values of magnitude up to {peak:.3g}; the readout computes in float32, whose products "
            f"{'overflow' if peak > 1 else 'underflow'} there. Rescale {name} (e.g. standardise it)."
        )
    values = values.astype(np.float32, copy=False)
    if token_mask is None:
        mask = np.ones(values.shape[:2], dtype=bool)
    else:
        mask = np.asarray(to_numpy(token_mask))
        if mask.shape != values.shape[:2]:
            raise ValueError(
                f"token_mask must have shape (presentation, token) = {values.shape[:2]}, got {mask.shape}."
            )
        mask = mask.astype(bool)
        if not mask.any(1).all():
            raise ValueError(
                f"token_mask leaves presentation {int(np.flatnonzero(~mask.any(1))[0])} without any token; every "
                "presentation needs at least one real token."
            )
    bad = ~np.isfinite(values[mask])
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) in real tokens. Remove or impute them."
        )
    values = np.where(mask[..., None], values, 0.0).astype(np.float32)
    return values, mask, ids


_NET_CLASS: Any = None


def net_class() -> Any:
    """The torch module, defined on first use (torch is imported only then)."""
    global _NET_CLASS
    if _NET_CLASS is not None:
        return _NET_CLASS
    torch = soft_import("torch", "AttentionReadout")
    nn = torch.nn

    class _Net(nn.Module):
        """Per group: queries · (token keys + position) → softmax over tokens → pooled values → readout."""

        def __init__(
            self,
            n_units: int,
            n_tokens: int,
            group_sizes: list[int],
            n_queries: int,
            key_dim: int,
            value_dim: int | None,
            positional: bool,
        ) -> None:
            super().__init__()
            self.key_dim = key_dim
            self.key = nn.Linear(n_units, key_dim)
            self.pos = nn.Parameter(0.02 * torch.randn(n_tokens, key_dim)) if positional else None
            self.queries = nn.Parameter(0.02 * torch.randn(len(group_sizes), n_queries, key_dim))
            self.value = nn.Linear(n_units, value_dim, bias=False) if value_dim else None
            width = n_queries * (value_dim or n_units)
            self.readout = nn.ParameterList([nn.Parameter(torch.zeros(size, width)) for size in group_sizes])
            self.bias = nn.Parameter(torch.zeros(sum(group_sizes)))

        def attention(self, X: Any, mask: Any) -> Any:
            keys = self.key(X)
            if self.pos is not None:
                keys = keys + self.pos[: X.shape[1]]
            logits = torch.einsum("gqk,btk->bgqt", self.queries, keys) / math.sqrt(self.key_dim)
            logits = logits.masked_fill(~mask[:, None, None, :], float("-inf"))
            return torch.softmax(logits, dim=-1)

        def forward(self, X: Any, mask: Any) -> Any:
            attn = self.attention(X, mask)
            values = self.value(X) if self.value is not None else X
            pooled = torch.einsum("bgqt,btv->bgqv", attn, values).flatten(2)
            out = [pooled[:, g] @ w.T for g, w in enumerate(self.readout)]
            return torch.cat(out, dim=1) + self.bias

    _Net.__module__ = __name__
    _Net.__qualname__ = "_Net"
    _NET_CLASS = _Net
    return _Net


def __getattr__(name: str) -> Any:
    # Lets pickle find the lazily defined module class (fitted readouts pickle like any estimator).
    if name == "_Net":
        return net_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

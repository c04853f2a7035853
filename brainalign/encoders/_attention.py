"""AttentionReadout: learned queries cross-attend over token features, then a linear readout."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..backend import get_backend
from ..methods import MethodInfo
from ..utils import check_bool, check_count, check_random_state, logger, soft_import
from ._attention_net import net_class, token_features
from ._base import check_constant_targets, check_fit_targets, is_dataarray, score_r2
from ._cv import check_groups

__all__ = ["AttentionReadout"]


class AttentionReadout(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Learned queries attend over a layer's tokens (or patches), then a linear readout per target.

    For each target group (a region, or a cluster of voxels) ``n_queries`` learned queries
    cross-attend over the token features of each presentation: keys are a linear map of the
    features plus a learned positional embedding, values are the features themselves (or a
    linear map of them, ``value_dim``). Each target reads its group's pooled vectors out
    linearly. So a group can pick *which* tokens drive it (a position, or tokens carrying some
    content), which mean pooling and ridge cannot; with uniform attention it reduces to ridge
    on mean-pooled features.

    Trained with AdamW on the mean squared error of standardised targets, with early stopping
    on a validation split taken from the end of the training samples (the last runs when
    ``groups`` is given: time is never shuffled across the split). Seeded and deterministic on
    CPU; runs on the GPU when the backend is ``"torch_cuda"``.

    Parameters
    ----------
    n_queries : int
        Queries per target group.
    key_dim : int
        Dimension of queries and keys.
    value_dim : int, optional
        Project the values to this dimension (default: the features themselves).
    positional : bool
        Add a learned positional embedding to the keys.
    lr, weight_decay : float
        AdamW's learning rate and decoupled weight decay.
    max_epochs, patience : int
        Stop after ``patience`` epochs without a better validation loss (or ``max_epochs``);
        the best epoch's weights are kept.
    batch_size : int
    validation_fraction : float
        Share of the training samples (taken from the end) used for early stopping.
    standardize : bool
        Standardise features (per unit, over real tokens) and targets with training statistics.
    backend : {"auto", "numpy", "torch", "torch_cuda"}
        ``"torch_cuda"`` (or ``"auto"`` with a GPU) trains on the GPU, anything else on the CPU.
    random_state : int, numpy Generator or None
        Seed for the initial weights and the batch order.

    Attributes
    ----------
    groups_ : list
        The target groups, in order of first appearance.
    target_groups_ : ndarray (n_targets,)
        The group of each target.
    n_epochs_, best_epoch_ : int
    history_ : list of float
        Validation loss per epoch.
    n_tokens_, n_features_in_ : int
    backend_ : str

    References
    ----------
    .. [1] Vaswani, A. et al. (2017). Attention is all you need. NeurIPS.
    .. [2] Lee, J. et al. (2019). Set Transformer: a framework for attention-based
       permutation-invariant neural networks. ICML (pooling by multihead attention with learned
       seed queries).
    .. [3] Loshchilov, I. & Hutter, F. (2019). Decoupled weight decay regularization. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.encoders import AttentionReadout
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4, 6)).astype("float32")    # presentation × token × unit
    >>> Y = X[:, 0] @ rng.normal(size=(6, 2))                  # driven by the first token only
    >>> model = AttentionReadout(max_epochs=100, random_state=0, backend="torch").fit(X[:240], Y[:240])
    >>> bool((model.score(X[240:], Y[240:]) > 0.8).all())
    True
    """

    def __init__(
        self,
        n_queries: int = 1,
        key_dim: int = 32,
        value_dim: int | None = None,
        positional: bool = True,
        *,
        lr: float = 1e-2,
        weight_decay: float = 1e-3,
        max_epochs: int = 300,
        patience: int = 20,
        batch_size: int = 64,
        validation_fraction: float = 0.2,
        standardize: bool = True,
        backend: str = "auto",
        random_state: Any = 0,
    ) -> None:
        self.n_queries = n_queries
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.positional = positional
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.backend = backend
        self.random_state = random_state

    def _check_params(self) -> None:
        check_count("n_queries", self.n_queries)
        check_count("key_dim", self.key_dim)
        check_count("value_dim", self.value_dim, optional=True)
        check_count("max_epochs", self.max_epochs)
        check_count("patience", self.patience)
        check_count("batch_size", self.batch_size)
        check_bool("positional", self.positional)
        check_bool("standardize", self.standardize)
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or not np.isfinite(value):
                raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}.")
        if not isinstance(self.validation_fraction, float) or not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be a float in (0, 1), got {self.validation_fraction!r}.")

    def _device(self) -> tuple[Any, Any]:
        torch = soft_import("torch", "AttentionReadout")
        be = get_backend(self.backend)
        return torch, torch.device("cuda" if be.name == "torch_cuda" else "cpu")

    def _validation_split(self, n: int, groups: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        n_val = max(1, round(self.validation_fraction * n))
        if groups is not None:
            codes = pd.factorize(groups)[0]
            # Whole runs from the end, at least the requested share.
            last = codes.max()
            while last > 0 and (codes >= last).sum() < n_val:
                last -= 1
            if last == 0:
                raise ValueError("validation_fraction takes every run; give more runs or a smaller fraction.")
            val = codes >= last
        else:
            if n - n_val < 2:
                raise ValueError(f"n_samples = {n} is too few to hold out a validation split; give more samples.")
            val = np.arange(n) >= n - n_val
        return np.flatnonzero(~val), np.flatnonzero(val)

    def __brainalign_info__(self) -> MethodInfo:
        return MethodInfo(
            family="encoder",
            kernels="fit",
            ceiling="reliability",
            needs_tokens=True,
            score="mean held-out Pearson r of the cell's neuroids",
        )

    def fit(
        self, X: Any, Y: Any, groups: Any = None, *, target_groups: Any = None, token_mask: Any = None
    ) -> AttentionReadout:
        """Train the queries, keys and readouts.

        Parameters
        ----------
        X : array (presentation, token, unit), torch tensor, or DataArray with those dims
            Token-level features of one layer; a DataArray may carry a boolean ``token_mask``
            coordinate (presentation, token) marking real (not padding) tokens.
        Y : array-like or DataArray (presentation × neuroid)
        groups : array-like, optional
            The run of each sample; the validation split then takes whole runs from the end.
        target_groups : array-like (n_targets,), optional
            The group of each target (its own queries). Default: the ``region`` coordinate of a
            DataArray ``Y``, else one group.
        token_mask : array-like (presentation, token), optional
            True for real tokens, False for padding.

        Returns
        -------
        self
        """
        self._check_params()
        Xv, mask, x_ids = token_features(X, token_mask)
        if target_groups is None and is_dataarray(Y) and "region" in Y.coords and Y["region"].dims == ("neuroid",):
            target_groups = np.asarray(Y["region"].values)
        Yv, ravel = check_fit_targets(self, Y, Xv, x_ids, dtype=np.float32)
        check_constant_targets(Yv)
        groups = check_groups(groups, Xv.shape[0])
        n, n_tokens, n_units = Xv.shape
        n_targets = Yv.shape[1]
        if target_groups is None:
            target_groups = np.zeros(n_targets, dtype=int)
        target_groups = np.asarray(target_groups)
        if target_groups.shape != (n_targets,):
            raise ValueError(
                f"target_groups must give one group per target ({n_targets}), got shape {target_groups.shape}."
            )
        codes, uniques = pd.factorize(target_groups)
        if (codes < 0).any():
            raise ValueError("target_groups has missing labels; every target needs a group.")
        order = np.argsort(codes, kind="stable")
        train, val = self._validation_split(n, groups)

        torch, device = self._device()
        seed = self.random_state
        if not isinstance(seed, (int, np.integer)):
            seed = int(check_random_state(seed).integers(2**31 - 1))
        seed = int(seed)

        # Standardisation with training statistics (real tokens only).
        if self.standardize:
            real = Xv[train][mask[train]]
            x_mean, x_std = real.mean(0), real.std(0)
            x_std[x_std == 0] = 1
            y_mean, y_std = Yv[train].mean(0), Yv[train].std(0)
            y_std[y_std == 0] = 1
        else:
            x_mean, x_std = np.zeros(n_units, np.float32), np.ones(n_units, np.float32)
            y_mean, y_std = np.zeros(n_targets, np.float32), np.ones(n_targets, np.float32)
        Xs = np.where(mask[..., None], (Xv - x_mean) / x_std, 0.0).astype(np.float32)
        Ys = ((Yv - y_mean) / y_std)[:, order].astype(np.float32)

        devices = [torch.cuda.current_device()] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            net = net_class()(
                n_units,
                n_tokens,
                np.bincount(codes).tolist(),
                int(self.n_queries),
                int(self.key_dim),
                self.value_dim,
                bool(self.positional),
            ).to(device)
            gen = torch.Generator().manual_seed(seed)
            X_t = torch.as_tensor(Xs, device=device)
            M_t = torch.as_tensor(mask, device=device)
            Y_t = torch.as_tensor(Ys, device=device)
            opt = torch.optim.AdamW(net.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
            tr_idx = torch.as_tensor(train, device=device)
            best, best_state, best_epoch, history = math.inf, None, 0, []
            epoch = 0
            for epoch in range(1, int(self.max_epochs) + 1):
                net.train()
                perm = tr_idx[torch.randperm(len(train), generator=gen).to(device)]
                for start in range(0, len(train), int(self.batch_size)):
                    idx = perm[start : start + int(self.batch_size)]
                    opt.zero_grad(set_to_none=True)
                    loss = torch.mean((net(X_t[idx], M_t[idx]) - Y_t[idx]) ** 2)
                    loss.backward()
                    opt.step()
                val_loss = self._loss(torch, net, X_t, M_t, Y_t, val)
                history.append(val_loss)
                if val_loss < best - 1e-7 * abs(best if np.isfinite(best) else 1.0):
                    best, best_epoch, best_state = val_loss, epoch, copy.deepcopy(net.state_dict())
                elif epoch - best_epoch >= int(self.patience):
                    break
            if best_state is None:
                raise ValueError(
                    f"AttentionReadout: training diverged (validation loss not finite in any of {epoch} epoch(s)); "
                    f"lower lr (now {self.lr!r}) or standardize the features and targets (standardize=True, now "
                    f"{self.standardize!r}), and check them for extreme values."
                )
            net.load_state_dict(best_state)
        net.eval()
        self.net_ = net
        self.n_features_in_ = n_units
        self.n_tokens_ = n_tokens
        self.groups_ = list(uniques)
        self.target_groups_ = target_groups
        self._order = order
        self._x_scale = (x_mean, x_std)
        self._y_scale = (y_mean, y_std)
        self._ravel = ravel
        self.n_epochs_ = epoch
        self.best_epoch_ = best_epoch
        self.history_ = history
        self.backend_ = str(device)
        logger.debug(
            "AttentionReadout: %d samples × %d tokens × %d units → %d targets in %d group(s); best epoch %d of %d "
            "(validation MSE %.4g) on %s",
            n,
            n_tokens,
            n_units,
            n_targets,
            len(uniques),
            best_epoch,
            epoch,
            best,
            device,
        )
        return self

    def _loss(self, torch: Any, net: Any, X: Any, M: Any, Y: Any, rows: np.ndarray) -> float:
        net.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(rows), 4 * int(self.batch_size)):
                idx = torch.as_tensor(rows[start : start + 4 * int(self.batch_size)], device=X.device)
                total += float(((net(X[idx], M[idx]) - Y[idx]) ** 2).sum())
        return total / (len(rows) * Y.shape[1])

    def _prepare(self, X: Any, token_mask: Any) -> tuple[Any, Any, Any]:
        check_is_fitted(self)
        torch, _ = self._device()
        Xv, mask, _ = token_features(X, token_mask)
        if Xv.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {Xv.shape[2]} units per token, but the readout was fitted on {self.n_features_in_}."
            )
        if Xv.shape[1] > self.n_tokens_ and self.positional:
            raise ValueError(
                f"X has {Xv.shape[1]} tokens, more than the {self.n_tokens_} the positional embedding was fitted on."
            )
        x_mean, x_std = self._x_scale
        Xs = np.where(mask[..., None], (Xv - x_mean) / x_std, 0.0).astype(np.float32)
        device = next(self.net_.parameters()).device
        return torch, torch.as_tensor(Xs, device=device), torch.as_tensor(mask, device=device)

    def predict(self, X: Any, token_mask: Any = None) -> np.ndarray:
        """Predicted responses (n_samples, n_targets)."""
        torch, X_t, M_t = self._prepare(X, token_mask)
        outs = []
        with torch.no_grad():
            for start in range(0, X_t.shape[0], 4 * int(self.batch_size)):
                sl = slice(start, start + 4 * int(self.batch_size))
                outs.append(self.net_(X_t[sl], M_t[sl]).cpu().numpy())
        pred = np.empty_like(np.concatenate(outs))
        pred[:, self._order] = np.concatenate(outs)
        y_mean, y_std = self._y_scale
        pred = pred * y_std + y_mean
        return pred[:, 0] if self._ravel else pred

    def attention(self, X: Any, token_mask: Any = None) -> np.ndarray:
        """Attention weights (n_samples, n_groups, n_queries, n_tokens): which tokens each group reads."""
        torch, X_t, M_t = self._prepare(X, token_mask)
        with torch.no_grad():
            return self.net_.attention(X_t, M_t).cpu().numpy()

    def score(self, X: Any, y: Any, token_mask: Any = None) -> np.ndarray | float:
        """R² per target (a float for 1-D targets)."""
        return score_r2(self.predict(X, token_mask), y)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

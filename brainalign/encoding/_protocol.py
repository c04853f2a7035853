"""``Encoding``: an encoder with its outer protocol (folds, runs, delays, HRF) — a map method."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .. import data
from .._version import __version__
from ..methods import MethodInfo, resolve
from ..utils import check_bool, check_count, check_option, logger
from ._fit import fit_layers
from ._rows import has_repetitions, prepare_rows


class Encoding:
    """An encoder and the outer protocol it is scored with: what a map method needs to encode.

    Options that only encoders use (outer ``cv``, ``groups``, ``delays``, ``hrf_model`` and the
    bootstrap ``block`` of continuous recordings) travel here, not in
    :func:`brainalign.alignment_map`'s signature.

    Parameters
    ----------
    encoder : str or encoder object
        A registered encoder (``"ridge"``, ``"banded_ridge"``, ``"attention_readout"``) or an
        instance (cloned for every fold), e.g. any scikit-learn regressor.
    cv : int, "runs", splitter or list of (train, test)
        Outer cross-validation (see :func:`brainalign.encoders.time_folds`).
    groups : "run", array-like or None
        The run of each sample (``"run"``: the recording's ``run`` coordinate when it has one).
    delays : sequence of int, optional
        Continuous recordings: FIR delays in samples.
    hrf_model : {"glover", "spm"}, optional
        Continuous recordings: convolve event-time features with this haemodynamic response.
    block : int
        Block length (samples) of the bootstrap of continuous recordings.
    encoder_options : dict, optional
        Options of an encoder given by name (e.g. ``{"alphas": np.logspace(0, 6, 7)}``).

    Examples
    --------
    >>> import numpy as np
    >>> import brainalign
    >>> from brainalign import data
    >>> rng = np.random.default_rng(0)
    >>> acts = data.activations({"l1": rng.normal(size=(60, 4)), "l2": rng.normal(size=(60, 4))},
    ...                         stimulus_id=np.arange(60))
    >>> rec = data.recording(acts.values[:, 4:] @ rng.normal(size=(4, 3)), stimulus_id=np.arange(60),
    ...                      subject="S1", region="V4")
    >>> method = brainalign.Encoding("ridge", cv=3, encoder_options={"backend": "numpy"})
    >>> amap = brainalign.alignment_map(acts, rec, method, ceiling=False)
    >>> str(amap["score"].idxmax("layer").item())
    'l2'
    """

    def __init__(
        self,
        encoder: str | Any = "ridge",
        *,
        cv: Any = 5,
        groups: str | Sequence[Any] | None = "run",
        delays: Sequence[int] | None = None,
        hrf_model: str | None = None,
        block: int = 20,
        encoder_options: dict[str, Any] | None = None,
    ) -> None:
        self.encoder = encoder
        self.cv = cv
        self.groups = groups
        self.delays = delays
        self.hrf_model = hrf_model
        self.block = block
        self.encoder_options = encoder_options

    def resolved(self) -> tuple[Any, str, MethodInfo]:
        """The encoder instance, its name and its declaration (checked)."""
        check_count("block", self.block, minimum=1)
        if self.hrf_model is not None:
            check_option("hrf_model", self.hrf_model, ("glover", "spm"))
        return resolve(self.encoder, self.encoder_options, family="encoder", wrap_encoders=False)

    def __brainalign_info__(self) -> MethodInfo:
        return self.resolved()[2]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The protocol and the encoder's parameters."""
        encoder, name, _ = self.resolved()
        return {
            "encoder": name,
            "encoder_params": encoder.get_params(),
            "cv": self.cv if isinstance(self.cv, (int, str)) else repr(self.cv),
            "delays": list(self.delays) if self.delays is not None else None,
            "hrf_model": self.hrf_model,
            "block": self.block,
        }

    def replace(self, **changes: Any) -> Encoding:
        """A copy with some options changed (``cv``, ``groups``, ``delays``, ``hrf_model``, ``block``).

        Examples
        --------
        >>> Encoding("ridge").replace(cv=3).cv
        3
        """
        options = {k: getattr(self, k) for k in ("cv", "groups", "delays", "hrf_model", "block", "encoder_options")}
        unknown = sorted(set(changes) - set(options))
        if unknown:
            raise TypeError(f"Encoding has no option(s) {unknown}; its options are {sorted(options)}.")
        options.update(changes)
        return Encoding(self.encoder, **options)

    def __repr__(self) -> str:
        return f"Encoding({self.encoder!r}, cv={self.cv!r}, delays={self.delays!r}, hrf_model={self.hrf_model!r})"

    def run(
        self,
        features: xr.DataArray,
        recording: xr.DataArray,
        *,
        ceiling: bool | str = "auto",
        layers: Sequence[str] | None = None,
        repetitions: str | None = None,
        on_missing: str = "raise",
        random_state: int | None = 0,
        return_predictions: bool = False,
    ) -> xr.Dataset:
        """Fit and score every layer: what :func:`brainalign.encode` returns (see there)."""
        template, name, info = self.resolved()
        if ceiling not in (True, False, "auto"):
            raise ValueError(f"ceiling must be 'auto', True or False, got {ceiling!r}.")
        return_predictions = check_bool("return_predictions", return_predictions)
        kind = data.validate(features, "auto", name="features")
        if kind not in ("activations", "continuous_activations"):
            raise ValueError(f"features must be activations (presentation × unit), got a {kind} object.")
        tokens = "token" in features.dims
        if tokens != info.needs_tokens:
            need = "token-level features (presentation, token, unit)" if info.needs_tokens else "pooled features"
            raise ValueError(f"encoder {name!r} needs {need}; features have dims {tuple(features.dims)}.")
        rec_kind = data.validate(recording, "recording", name="recording")
        continuous = rec_kind == "continuous"
        if tokens and continuous:
            raise ValueError(
                "token-level features go with condition-based or time-resolved recordings (one row per "
                "stimulus), not with a continuous recording."
            )
        repeated = not continuous and has_repetitions(recording)
        if ceiling is True and not repeated:
            raise ValueError(
                "ceiling=True needs repeated presentations (a 'repetition' dim, or repeated stimulus_id); this "
                "recording has none. Pass ceiling=False (or 'auto')."
            )
        use_ceiling = ceiling is True or (ceiling == "auto" and repeated)
        if repetitions == "keep" and "repetition" in recording.dims:
            recording = data.trials(recording, layout="rows", min_trials=1)
        rows = prepare_rows(
            features,
            recording,
            cv=self.cv,
            groups=self.groups,
            delays=self.delays,
            hrf_model=self.hrf_model,
            repetitions=repetitions,
            on_missing=on_missing,
            continuous=continuous,
        )
        Y, latency = rows.targets()
        all_layers = data.layer_names(rows.acts)
        if layers is not None:
            layers = [layers] if isinstance(layers, str) else list(layers)
            unknown = [layer for layer in layers if layer not in all_layers]
            if unknown:
                raise ValueError(f"layers {unknown} are not in features; its layers are {all_layers}.")
        else:
            layers = all_layers
        _check_layers_vary(rows.acts, layers)
        region = np.asarray(rows.rec["region"].values)
        if latency is not None:
            region = np.repeat(region, len(latency))
        fits = fit_layers(template, info, rows, Y, layers, target_region=region, return_predictions=return_predictions)
        out = _assemble(fits, rows, Y, latency, layers, info)
        _flag_grid_edges(out, template.get_params().get("alphas"), name)
        if use_ceiling:
            _add_ceiling(out, recording, rows, random_state)
        out.attrs.update(
            encoder=name,
            encoder_params=json.dumps(template.get_params(), default=str),
            cv=repr(self.cv) if not isinstance(self.cv, (int, str)) else self.cv,
            n_folds=len(rows.folds),
            cv_groups=rows.cv_groups,
            delays=list(self.delays) if self.delays is not None else "none",
            hrf_model=self.hrf_model or "none",
            ceiling=("split_half_spearman_brown_single_trial" if rows.single_trials else "split_half_spearman_brown")
            if use_ceiling
            else "none",
            n_samples=rows.n,
            model=str(rows.acts["model"].values[0]),
            brainalign_version=__version__,
        )
        return out


#: Share of fits whose alpha sits at a grid edge above which encode warns (below: DEBUG).
EDGE_WARNING_SHARE = 0.05


def _flag_grid_edges(out: xr.Dataset, alphas: Any, name: str) -> None:
    """Count (attrs ``n_alpha_at_grid_edge``) and log the targets whose chosen alpha is the smallest or
    largest of the grid: the optimum may lie beyond it, and at the top the predictions shrink to
    near-constant values whose r is unstable (a wide or NaN bootstrap interval)."""
    if "alpha" not in out or alphas is None:
        return
    grid = np.asarray(alphas, dtype=float).ravel()
    if grid.size < 2:
        return
    chosen = out["alpha"]
    top = chosen >= grid.max() * (1 - 1e-9)
    bottom = chosen <= grid.min() * (1 + 1e-9)
    out.attrs.update(n_alpha_at_grid_top=int(top.sum()), n_alpha_at_grid_bottom=int(bottom.sum()))
    out.attrs["n_alpha_at_grid_edge"] = out.attrs["n_alpha_at_grid_top"] + out.attrs["n_alpha_at_grid_bottom"]
    if out.attrs["n_alpha_at_grid_edge"]:
        first = top.stack(z=top.dims).where(top.stack(z=top.dims), drop=True)["z"].values[:3].tolist()
        # A few targets at an edge are expected (pure-noise targets take the top alpha); warn when a
        # share large enough to bias a cell's mean is there.
        share = out.attrs["n_alpha_at_grid_edge"] / max(int(chosen.size), 1)
        log = logger.warning if share >= EDGE_WARNING_SHARE else logger.debug
        log(
            "%s: the chosen alpha is at the top of the grid (%.3g) for %d and at the bottom (%.3g) for %d of %d "
            "fits (e.g. %s). Extend encoder_options['alphas'] beyond that edge; at the top the predictions "
            "shrink towards constants (a large top alpha), and their r and its interval are unreliable.",
            name, grid.max(), out.attrs["n_alpha_at_grid_top"], grid.min(), out.attrs["n_alpha_at_grid_bottom"],
            chosen.size, first,
        )  # fmt: skip


def _check_layers_vary(acts: xr.DataArray, layers: list[str]) -> None:
    """Refuse a layer that does not vary across samples: its predictions are constant and every r undefined."""
    from ..metrics._base import constant_message

    layer_of = np.asarray(acts["layer"].values)
    values = acts.transpose(acts.dims[0], ..., "unit").values
    for layer in layers:
        block = values[..., layer_of == layer]
        if block.size and not np.max(np.ptp(block, axis=0)) > 0:
            raise ValueError(constant_message(f"features (layer {layer!r})", "its encoding score"))


def _assemble(fits: Any, rows: Any, Y: np.ndarray, latency: Any, layers: list[str], info: MethodInfo) -> xr.Dataset:
    rec, n = rows.rec, rows.n
    banded = info.multi_layer
    target_dims = ["neuroid", "latency"] if latency is not None else ["neuroid"]
    shape = [rec.sizes["neuroid"]] + ([len(latency)] if latency is not None else [])
    coords: dict[str, Any] = {k: v for k, v in rec.coords.items() if v.dims == ("neuroid",)}
    if latency is not None:
        coords["latency"] = rec["latency"]
    lead = [] if banded else ["layer"]
    if not banded:
        coords["layer"] = ("layer", np.asarray(layers, dtype=object))
    n_groups = len(fits.names)

    def arr(values: np.ndarray) -> xr.DataArray:
        values = values.reshape(n_groups, *shape)
        return xr.DataArray(values[0] if banded else values, dims=[*lead, *target_dims])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # targets that are NaN in every fold
        out = xr.Dataset({"r": arr(np.nanmean(fits.r, 1)), "r2": arr(np.nanmean(fits.r2, 1))}, coords=coords)
        if np.isfinite(fits.alphas).any():
            out["alpha"] = arr(np.nanmedian(fits.alphas, 1))
    if banded:
        bands = fits.band_names
        out["r2_split"] = xr.DataArray(fits.split.mean(0).reshape(len(bands), *shape), dims=["band", *target_dims])
        with np.errstate(divide="ignore", invalid="ignore"):
            out["share"] = out["r2_split"] / out["r2_split"].sum("band")
        out = out.assign_coords(band=("band", np.asarray(bands, dtype=object)))
    if fits.predictions is not None:
        pred = fits.predictions.reshape(n_groups, n, *shape)
        out["prediction"] = xr.DataArray(pred[0] if banded else pred, dims=[*lead, rows.row, *target_dims])
        target = np.empty_like(Y)
        target[rows.order] = Y  # back in align's row order, as the predictions are
        out["target"] = xr.DataArray(target.reshape(n, *shape), dims=[rows.row, *target_dims])
        out = out.assign_coords(fold=(rows.row, rows.fold_of()))
    return out


def _add_ceiling(out: xr.Dataset, recording: xr.DataArray, rows: Any, random_state: Any) -> None:
    """Split-half reliability ρ of the scored responses; ``r_normalized = r / √ρ``, ``r2 / ρ``."""
    from ..metrics.ceiling import reliability, spearman_brown

    ids = np.asarray(rows.rec["stimulus_id"].values)
    rho = reliability(recording, ids, random_state=random_state)
    if rows.single_trials:
        # Scores are against single trials: step the reliability of the trial average down to one
        # trial (Spearman–Brown with the harmonic mean of the trials per stimulus).
        counts = np.bincount(rows.stimulus)
        rho = spearman_brown(rho, float(np.mean(1.0 / counts[counts >= 2])))
    target_dims = [d for d in ("neuroid", "latency") if d in out["r"].dims]
    rho = xr.DataArray(rho, dims=target_dims)
    out["ceiling"] = rho
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = rho.where(rho > 0)
        out["r_normalized"] = out["r"] / np.sqrt(positive)
        out["r2_normalized"] = out["r2"] / positive
    if (rho <= 0).any():
        logger.warning(
            "encode: %d neuroid(s) have a non-positive split-half reliability; their normalised scores are NaN.",
            int((rho <= 0).sum()),
        )

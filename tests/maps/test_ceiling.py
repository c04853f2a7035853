"""Split-half noise ceilings of similarity maps.

Crossnobis RSA (halves of the repetitions, each crossvalidated within itself): pinned against rsatoolbox's
crossnobis RDMs and the Spearman–Brown closed form, on planted truth (the ceiling tracks the true test–retest
reliability of the RDM; the true pattern scores at the ceiling), on a refusal (too few repetitions), and on the
real Haxby (2001) slice. Every similarity method (RSA, crossnobis RSA, CKA, a plug-in without batched kernels),
on regions and searchlights, with and without latencies: the batched ceiling equals the method called on each
cell's two halves.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from brainalign import alignment_map, data, registry
from brainalign.methods import MethodInfo, method_info
from brainalign.metrics import rsa
from brainalign.metrics.ceiling import fold_halves, half_averages

CROSSNOBIS = {"metric": "crossnobis"}
#: Random splits a similarity ceiling averages (documented in docs/maps.md).
N_SPLITS = 10


def _planted(rng, n_rep, n_stim=24, n_feat=40, sigma=1.0):
    """True patterns U (stimulus × feature) and trials (repetition × stimulus × feature) = U + noise."""
    U = rng.normal(size=(n_stim, n_feat))
    return U, U[None] + sigma * rng.normal(size=(n_rep, n_stim, n_feat))


def _recording(trials):
    n_stim = trials.shape[1]
    return data.recording(np.moveaxis(trials, 0, -1), stimulus_id=np.arange(n_stim), subject="S1", region="V1")


def _rsatoolbox_half_rdm(trials, reps):
    """rsatoolbox's crossnobis RDM of the repetitions ``reps`` (folds), its noise precision (shrinkage towards
    the diagonal) estimated from that half's residuals around the stimulus means."""
    rsd = pytest.importorskip("rsatoolbox.data")
    rsr = pytest.importorskip("rsatoolbox.rdm")
    noise = pytest.importorskip("rsatoolbox.data.noise")
    half = trials[list(reps)]
    k, n, p = half.shape
    ds = rsd.Dataset(
        half.reshape(k * n, p),
        obs_descriptors={"stim": np.tile(np.arange(n), k), "rep": np.repeat(np.arange(k), n)},
    )
    prec = noise.prec_from_unbalanced(ds, obs_desc="stim", method="shrinkage_diag")
    rdm = rsr.calc_rdm(ds, method="crossnobis", descriptor="stim", cv_descriptor="rep", noise=prec)
    assert list(rdm.pattern_descriptors["stim"]) == list(range(n))
    return rdm.get_vectors()[0]


def test_crossnobis_rsa_declares_the_split_half_ceiling():
    info = method_info(rsa.RSA(metric="crossnobis"))
    assert info.needs_trials and info.ceiling == "split_half_spearman_brown"


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # inside rsatoolbox
def test_half_rdms_match_rsatoolbox_and_the_ceiling_is_spearman_brown():
    rng = np.random.default_rng(0)
    U, trials = _planted(rng, n_rep=4, n_stim=10, n_feat=15, sigma=1.5)
    method = rsa.RSA(metric="crossnobis")  # Spearman, shrinkage_diag noise: the map's defaults
    # One fixed split: our half-RDM correlation equals Spearman's ρ of rsatoolbox's two half RDMs (to 1e-10).
    splits = [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]  # every split of 4 repetitions into 2 + 2
    ref = []
    for a, b in splits:
        r_ref = spearmanr(_rsatoolbox_half_rdm(trials, a), _rsatoolbox_half_rdm(trials, b))[0]
        np.testing.assert_allclose(method(trials[list(a)], trials[list(b)]), r_ref, rtol=0, atol=1e-10)
        ref.append(r_ref)
    ref = np.array(ref)
    assert np.ptp(ref) > 1e-3  # the three splits differ, so the check below pins which were averaged
    amap = alignment_map(data.activations({"true": U}, stimulus_id=np.arange(10)), _recording(trials), method)
    assert amap.attrs["ceiling_method"] == "split_half_spearman_brown"
    c = float(amap["ceiling"].item())
    # Closed form: ceiling = √(2 r̄ / (1 + r̄)), r̄ the mean of the N_SPLITS drawn splits' correlations, so
    # r̄ = c² / (2 − c²) is an average of the three reference correlations with weights in multiples of 1/N_SPLITS.
    r_bar = c**2 / (2 - c**2)
    means = [np.dot(w, ref) / N_SPLITS for w in itertools.product(range(N_SPLITS + 1), repeat=3) if sum(w) == N_SPLITS]
    assert np.min(np.abs(np.array(means) - r_bar)) < 1e-10
    # The ceiling's band is the same transform of the drawn splits' spread, around the ceiling.
    bound = np.sqrt(2 * ref / (1 + ref))
    low, high = float(amap["ceiling_low"].item()), float(amap["ceiling_high"].item())
    assert bound.min() - 1e-12 <= low <= c <= high <= bound.max() + 1e-12
    np.testing.assert_allclose(amap["normalized"].values, amap["score"].values / c, rtol=1e-12)


def test_ceiling_tracks_the_true_reliability_and_the_true_pattern_scores_at_it():
    # The true reliability of a k-repetition crossnobis RDM: its Spearman correlation with an independent
    # k-repetition RDM of the same patterns (Monte Carlo over 12 seeds). The ceiling estimates its root √ρ
    # from halves of k/2 repetitions; the noise × noise part of a crossnobis distance shrinks faster than
    # 1/k, so Spearman–Brown is conservative with few repetitions and the gap closes as they grow.
    method = rsa.RSA(metric="crossnobis")
    gaps, normalized = {}, {}
    for n_rep in (4, 8, 16, 32):
        truth, ceil, norm = [], [], []
        for seed in range(12):
            rng = np.random.default_rng(seed)
            U, trials = _planted(rng, n_rep)
            truth.append(method(trials, U[None] + rng.normal(size=trials.shape)))
            acts = data.activations({"true": U}, stimulus_id=np.arange(len(U)))
            amap = alignment_map(acts, _recording(trials), method, random_state=seed)
            ceil.append(float(amap["ceiling"].item()))
            norm.append(float(amap["normalized"].item()))
        gaps[n_rep] = abs(np.mean(ceil) - np.sqrt(np.mean(truth)))
        normalized[n_rep] = np.array(norm)
    # Seen: gaps 0.035, 0.021, 0.008, 0.002 (k = 4, 8, 16, 32).
    assert gaps[4] < 0.06 and gaps[8] < 0.04 and gaps[16] < 0.02 and gaps[32] < 0.01, gaps
    assert gaps[32] < gaps[4]
    # The true pattern scores at the ceiling: normalized ≈ 1 (k ≥ 16: mean within 0.03, every seed within 0.08;
    # seen 0.999 and 0.996, worst seeds 0.028 and 0.019 from 1).
    for n_rep in (16, 32):
        assert abs(normalized[n_rep].mean() - 1) < 0.03, normalized[n_rep]
        assert np.all(np.abs(normalized[n_rep] - 1) < 0.08), normalized[n_rep]


def test_ceiling_of_pure_noise_is_nan_or_its_band_reaches_zero(caplog):
    # No signal: the halves' RDMs agree by chance only. The mean split correlation is then ≤ 0 (NaN ceiling,
    # with the reason) or a chance positive whose √ Spearman–Brown transform looks sizeable (0.2–0.5 here, as
    # for every RSA ceiling); its band then reaches 0 (ceiling_low = 0), which says the ceiling is not there.
    n_nan = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        trials = rng.normal(size=(8, 12, 20))
        acts = data.activations({"l1": rng.normal(size=(12, 5))}, stimulus_id=np.arange(12))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="brainalign"):
            amap = alignment_map(acts, _recording(trials), "rsa", method_options=CROSSNOBIS, random_state=0)
        if np.isnan(amap["ceiling"].item()):
            n_nan += 1
            assert "the halves of the trials do not agree" in caplog.text
        else:
            assert amap["ceiling_low"].item() == 0, seed
    assert n_nan >= 1


@pytest.mark.parametrize("n_rep", [2, 3])
def test_too_few_repetitions_give_a_nan_ceiling_and_the_reason(caplog, n_rep):
    rng = np.random.default_rng(1)
    U, trials = _planted(rng, n_rep, n_stim=10, n_feat=12)
    acts = data.activations({"true": U}, stimulus_id=np.arange(10))
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        amap = alignment_map(acts, _recording(trials), "rsa", method_options=CROSSNOBIS)
    assert np.isfinite(amap["score"]).all()  # the map itself is scored
    for var in ("ceiling", "ceiling_low", "ceiling_high", "normalized"):
        assert np.isnan(amap[var]).all(), var
    assert f"needs at least 4 repetitions (2 folds in each half); the recording has {n_rep}" in caplog.text
    assert "no noise ceiling for region 'V1'" in caplog.text


# ----------------------------------------------------------------------------------------- real data
HAXBY_ORDER = ["face", "cat", "house", "bottle", "scissors", "shoe", "chair", "scrambledpix"]


@pytest.fixture(scope="module")
def haxby_trials(shared_data):
    """The Haxby (2001) slice as category patterns per run: (category, voxel, repetition = run), 8 × n × 12,
    built as in notebooks/fmri_haxby_crossnobis.ipynb (blocks shifted by 2 TRs, volumes averaged per run)."""
    folder = shared_data / "haxby2001_slice"
    if not folder.is_dir():
        pytest.skip(f"real data folder {folder} is absent")
    pytest.importorskip("nilearn")
    nib = pytest.importorskip("nibabel")
    from nilearn import image

    from brainalign.io.fmri import load_fmri

    labels = pd.read_csv(folder / "attributes_literal.txt", sep=" ", header=None, names=["label", "run"])
    bold = nib.load(folder / "bold.nii.gz")
    runs = [image.index_img(bold, np.flatnonzero(labels["run"] == r)) for r in range(12)]
    rec = load_fmri(runs, mask=folder / "mask.nii.gz", detrend=True, standardize=True, subject="haxby-1")
    label, run = labels["label"].to_numpy(), labels["run"].to_numpy()
    shifted = np.full(label.shape, "rest", dtype=object)
    for r in range(12):
        idx = np.flatnonzero(run == r)
        shifted[idx[2:]] = label[idx[:-2]]
    keep = shifted != "rest"
    frame = pd.DataFrame(rec.values[keep])
    frame["category"], frame["run"] = shifted[keep], run[keep]
    means = frame.groupby(["run", "category"]).mean()
    values = np.stack([means.loc[r].loc[HAXBY_ORDER].to_numpy() for r in range(12)], axis=-1)
    return data.recording(values, stimulus_id=HAXBY_ORDER, subject="haxby-1", region="VT slice")


def test_real_haxby_crossnobis_ceiling(haxby_trials):
    # The category model (one-hot superordinate class: its squared Euclidean RDM is the model RDM) and a
    # control of random features, against the crossnobis RDM of the 12 runs.
    superordinate = {"face": "animate", "cat": "animate", "house": "place", "scrambledpix": "scrambled"}
    groups = pd.get_dummies(pd.Series([superordinate.get(c, "object") for c in HAXBY_ORDER])).to_numpy(float)
    rng = np.random.default_rng(0)
    acts = data.activations({"category": groups, "random": rng.normal(size=(8, 4))}, stimulus_id=HAXBY_ORDER)
    amap = alignment_map(acts, haxby_trials, "rsa", method_options=CROSSNOBIS, random_state=0)
    c, low, high = (float(amap[v].item()) for v in ("ceiling", "ceiling_low", "ceiling_high"))
    score = amap["score"].squeeze()
    print(f"Haxby crossnobis ceiling {c:.3f} [{low:.3f}, {high:.3f}]; scores {score.to_series().round(3).to_dict()}")
    assert 0 < low <= c <= high <= 1
    assert float(score.sel(layer="category")) <= high
    assert float(score.sel(layer="category")) > float(score.sel(layer="random"))
    np.testing.assert_allclose(amap["normalized"].values, amap["score"].values / c, rtol=1e-12)


# ---------------------------------------------- batched ceilings equal the method called per cell
class MeanCorrelation:
    """A plug-in without batched kernels (``kernels="call"``): r of the stimuli's mean responses."""

    def __brainalign_info__(self):
        return MethodInfo(family="similarity", kernels="call", ceiling="split_half", score="r of the mean responses")

    def get_params(self):
        return {}

    def __call__(self, X, Y):
        a, b = np.asarray(X).mean(axis=-1), np.asarray(Y).mean(axis=-1)
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            raise ValueError("a constant mean response has no correlation")
        return float(np.corrcoef(a, b)[0, 1])


@pytest.fixture
def toy_call():
    registry.register("toy_ceiling_call", MeanCorrelation)
    yield "toy_ceiling_call"
    registry.unregister("toy_ceiling_call")


METHODS = {
    "rsa": ("rsa", {}),
    "crossnobis": ("rsa", CROSSNOBIS),
    "cka": ("cka", {}),
    "pearson_rsa": ("rsa", {"metric": "euclidean", "compare": "pearson"}),
    "kendall_rsa": ("rsa", {"compare": "kendall_tau_a"}),  # no batched cell RDMs: represented halves
}


def _grid_trials(rng, latency, subjects, shape, n_stim=10, n_rep=5):
    """Trials on a 3 mm grid (signal + noise; regions a and b, on one subject or two) plus one constant voxel
    far away (its own region and searchlight centre: every half of it is refused)."""
    ijk = np.argwhere(np.ones(shape, bool))
    n_vox = len(ijk) + 1
    n_lat = 1 if latency is None else len(latency)
    signal = rng.normal(size=(n_stim, n_vox, n_lat))
    values = signal[..., None] + 0.8 * rng.normal(size=(n_stim, n_vox, n_lat, n_rep))
    values[:, -1] = 1.0
    xyz = 3.0 * np.vstack([ijk, [[40, 40, 40]]])
    half = len(ijk) // 2
    region = np.array(["a"] * (half // 2) + ["b"] * (half - half // 2) + ["a"] * (len(ijk) - half) + ["flat"])
    subject = np.array(["S1"] * half + [subjects[-1]] * (len(ijk) - half) + ["S1"])
    rec = data.recording(
        values if latency is not None else values[:, :, 0],
        stimulus_id=np.arange(n_stim),
        latency=latency,
        subject=subject,
        region=region,
        dims=("presentation", "neuroid", "latency", "repetition") if latency is not None else None,
        neuroid_coords={"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]},
    )
    acts = data.activations({"l0": signal[:, :8, 0], "l1": rng.normal(size=(n_stim, 6))}, stimulus_id=np.arange(n_stim))
    return acts, rec


def _per_cell_ceiling(method, rec, cells, latency, seed):
    """The ceiling by hand: the split halves drawn as the map draws them (one generator seeded with the
    map's random_state; half averages, or halves of whole repetitions for a method that needs trials), the
    method called on every cell's two halves, the split mean Spearman–Brown corrected (√ρ) when the rule says
    so; the band the same transform of the draws' 2.5th/97.5th percentiles, around the ceiling."""
    info = method_info(method)
    trials = data.trials(rec, if_fewer="none")
    rng = np.random.default_rng(seed)
    lead = ("repetition",) if info.needs_trials else ()
    lats = [None] if latency is None else list(latency)
    draws = np.full((N_SPLITS, len(cells), len(lats)), np.nan)
    for k in range(N_SPLITS):
        A, B = fold_halves(trials, rng, min_folds=2) if info.needs_trials else half_averages(trials, rng)
        for t, lat in enumerate(lats):
            Ah, Bh = ((H if lat is None else H.sel(latency=lat)) for H in (A, B))
            Ah, Bh = (H.transpose(*lead, "presentation", "neuroid").values for H in (Ah, Bh))
            for c, cols in enumerate(cells):
                try:
                    draws[k, c, t] = method(Ah[..., cols], Bh[..., cols])
                except ValueError:
                    pass
    with np.errstate(invalid="ignore"):
        mean = draws.mean(0)
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
        if info.ceiling == "split_half_spearman_brown":
            rho = 2 * mean / (1 + mean)
            mean = np.where(rho > 0, np.sqrt(np.clip(rho, 0, None)), np.nan)
            low, high = (np.sqrt(np.clip(2 * v / (1 + v), 0, None)) for v in (low, high))
    return mean, np.fmin(low, mean), np.fmax(high, mean)


@pytest.mark.parametrize("latency", [None, [0.1, 0.2]], ids=["static", "latencies"])
@pytest.mark.parametrize("layout", ["regions", "searchlight"])
@pytest.mark.parametrize("name", [*METHODS, "toy_call"])
def test_ceiling_equals_the_method_called_on_every_cells_halves(toy_call, name, layout, latency):
    # The map's ceilings come through the method's batched kernels (cell RDMs of each half for RDM methods,
    # represented halves compared in chunks otherwise); they equal the method called on each cell's two halves
    # (1e-12, float64), and a cell the method refuses (a constant voxel) has a NaN ceiling in both.
    from brainalign import searchlight

    # The searchlight has 81 centres: more than one chunk of represented halves (at most 64 cells each).
    sl = layout == "searchlight"
    acts, rec = _grid_trials(
        np.random.default_rng(3), latency, ("S1",) if sl else ("S1", "S2"), (5, 4, 4) if sl else (4, 3, 3)
    )
    method_name, options = METHODS[name] if name in METHODS else (toy_call, {})
    method = registry.get(method_name, **options)
    if layout == "searchlight":
        regions = searchlight.spheres(rec, radius=5.0)
        cells = [np.asarray(nb) for nb in regions.neighbours]
        assert len(cells) == rec.sizes["neuroid"] and len(cells[-1]) == 1
    else:
        regions = "region"
        region, subject = rec["region"].values, rec["subject"].values
        cells = [np.flatnonzero((region == r) & (subject == s)) for r in ("a", "b", "flat") for s in ("S1", "S2")]
    amap = alignment_map(acts, rec, method, regions=regions, random_state=7, on_error="nan")
    ceiling, low, high = _per_cell_ceiling(method, rec, [c for c in cells if len(c)], latency, seed=7)
    got = amap[["ceiling", "ceiling_low", "ceiling_high"]]
    if layout == "regions":
        got = got.stack(cell=("region", "subject")).sel(cell=[(r, s) for r in ("a", "b", "flat") for s in ("S1", "S2")])
        keep = [i for i, c in enumerate(cells) if len(c)]
        got = got.isel(cell=keep).transpose("cell", ...)
    for var, ref in zip(("ceiling", "ceiling_low", "ceiling_high"), (ceiling, low, high), strict=True):
        values = got[var].values.reshape(ref.shape)
        np.testing.assert_allclose(values, ref, rtol=0, atol=1e-12, err_msg=var)
    assert np.isnan(ceiling[-1]).all()  # the constant voxel's cell
    assert np.isfinite(ceiling[:-1]).mean() > 0.8


@pytest.mark.parametrize("name", ["rsa", "crossnobis", "cka"])
def test_ceiling_of_a_float32_recording_equals_the_method_called_per_cell(name):
    # Half averages are float64 (a float32 sum divided by trial counts), and RSA computes a crossnobis RDM in
    # float64 from float32 trials; the batched kernels do the same, so the ceilings agree to 1e-12 here too.
    from brainalign import searchlight

    acts, rec = _grid_trials(np.random.default_rng(5), None, ("S1",), (4, 3, 3))
    rec = rec.astype(np.float32)
    assert rec.dtype == np.float32
    sl = searchlight.spheres(rec, radius=5.0)
    method = registry.get(METHODS[name][0], **METHODS[name][1])
    amap = alignment_map(acts, rec, method, regions=sl, random_state=2, on_error="nan")
    refs = _per_cell_ceiling(method, rec, [np.asarray(nb) for nb in sl.neighbours], None, seed=2)
    for var, ref in zip(("ceiling", "ceiling_low", "ceiling_high"), refs, strict=True):
        np.testing.assert_allclose(amap[var].values, ref[:, 0], rtol=0, atol=1e-12, err_msg=var)


@pytest.mark.parametrize("name", ["rsa", "crossnobis", "cka"])
def test_a_refused_cell_logs_the_methods_own_reason(caplog, name):
    # The batched kernels refuse the constant voxel's cell with the rest of its group; the cell is then called
    # on its own, so the logged reason is the method's refusal of that cell's halves, word for word.
    acts, rec = _grid_trials(np.random.default_rng(3), None, ("S1",), (4, 3, 3))
    method = registry.get(METHODS[name][0], **METHODS[name][1])
    trials = data.trials(rec, if_fewer="none")
    rng = np.random.default_rng(0)
    halves = fold_halves(trials, rng, min_folds=2) if method_info(method).needs_trials else half_averages(trials, rng)
    lead = ("repetition",) if method_info(method).needs_trials else ()
    flat = np.flatnonzero(rec["region"].values == "flat")
    Ah, Bh = (H.transpose(*lead, "presentation", "neuroid").values[..., flat] for H in halves)
    with pytest.raises(ValueError) as refusal:
        method(Ah, Bh)
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        amap = alignment_map(acts, rec, method, random_state=0, on_error="nan")
    assert np.isnan(amap["ceiling"].sel(region="flat")) and np.isfinite(amap["ceiling"].sel(region="a"))
    assert f"no split of the trials could be scored ({refusal.value})" in caplog.text

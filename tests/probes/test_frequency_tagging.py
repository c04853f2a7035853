"""The hierarchical frequency-tagging probe: planted truth, a plain reference, real MiniLM and iEEG."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from scipy.signal import lfilter

from brainalign import data
from brainalign.probes import frequency_tagging as ft

SFREQ = 4.0
N_TIMES = 48  # 12 four-word sentences at 4 words per second


def _t(n=N_TIMES, sfreq=SFREQ):
    return np.arange(n) / sfreq


def _binomial_bounds(n, p=0.05, level=0.999):
    lo, hi = stats.binom.interval(level, n, p)
    return lo / n, hi / n


# ------------------------------------------------------------------ a plain reference of HFTP
def reference_hftp(x, sfreq, rates, n_shuffles, seed, alpha=0.05, z_threshold=2.0, n_neighbours=10, null="shuffle"):
    """HFTP per unit, written plainly with loops and numpy.fft (same seeds as the batched probe)."""
    n_trials, n_units, n_times = x.shape
    rng = np.random.default_rng(seed)
    if null == "shuffle":
        perms = rng.permuted(np.tile(np.arange(n_times), (n_shuffles, 1)), axis=1)
    else:
        lags = rng.integers(0, n_times, size=(n_shuffles, n_trials))
    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    names = list(rates)
    amp_out = np.zeros((n_units, len(names)))
    thr_out = np.zeros((n_units, len(names)))
    p_out = np.zeros((n_units, len(names)))
    z_out = np.zeros((n_units, len(names)))
    tagged = np.zeros((n_units, len(names)), dtype=bool)
    for u in range(n_units):
        avg = x[:, u, :].mean(axis=0)
        spectrum = np.abs(np.fft.rfft(avg))
        spectrum[0] = 0.0
        null_spectra = []
        for s in range(n_shuffles):
            if null == "shuffle":
                shuffled = avg[perms[s]]
            else:
                shuffled = np.mean([np.roll(x[j, u, :], lags[s, j]) for j in range(n_trials)], axis=0)
            null_spectra.append(np.abs(np.fft.rfft(shuffled)))
        null_spectra = np.array(null_spectra)
        for r, name in enumerate(names):
            found = []
            for f in np.atleast_1d(rates[name]):
                k = int(np.argmin(np.abs(freqs - f)))
                real = spectrum[k]
                threshold = np.percentile(null_spectra[:, k], 100 * (1 - alpha))
                # Ties up to rounding count as ≥ observed and not above the threshold.
                p = (1 + np.sum(null_spectra[:, k] >= real * (1 - 1e-9))) / (1 + n_shuffles)
                nb = [j for j in range(k - n_neighbours, k + n_neighbours + 1) if 1 <= j < len(spectrum) and j != k]
                z = (real - np.mean(spectrum[nb])) / np.std(spectrum[nb])
                found.append((real > threshold * (1 + 1e-9) and z > z_threshold, p, z, real, threshold))
            best = max(found, key=lambda v: (v[0], -v[1], v[2]))
            tagged[u, r] = any(v[0] for v in found)
            p_out[u, r] = min(1.0, len(found) * min(v[1] for v in found))
            z_out[u, r], amp_out[u, r], thr_out[u, r] = best[2], best[3], best[4]
    labels = np.array(
        ["none" if not row.any() else ("shared" if row.sum() > 1 else names[int(np.argmax(row))]) for row in tagged]
    )
    return {"peak_amplitude": amp_out, "threshold": thr_out, "p_value": p_out, "z": z_out, "label": labels}


def _planted(n_per_kind=8, n_noise=40, n_trials=10, amplitude=0.8, seed=0):
    """Units oscillating at the sentence rate, the phrase rate, both, or neither (plus noise)."""
    rng = np.random.default_rng(seed)
    t = _t()
    kinds = ["sentence"] * n_per_kind + ["phrase"] * n_per_kind + ["shared"] * n_per_kind + ["none"] * n_noise
    x = rng.normal(size=(n_trials, len(kinds), N_TIMES))
    for u, kind in enumerate(kinds):
        phase = rng.uniform(0, 2 * np.pi)
        if kind in ("sentence", "shared"):
            x[:, u] += amplitude * np.cos(2 * np.pi * 1.0 * t + phase)
        if kind in ("phrase", "shared"):
            x[:, u] += amplitude * np.cos(2 * np.pi * 2.0 * t)  # the Nyquist bin: ±1 alternation
    return x, np.array(kinds)


# ------------------------------------------------------------------------------- planted truth
def test_planted_units_are_labelled(caplog):
    x, kinds = _planted()
    with caplog.at_level(logging.INFO, logger="brainalign"):
        res = ft.probe(x)
    signal = kinds != "none"
    np.testing.assert_array_equal(res["label"].values[signal], kinds[signal])
    assert np.mean(res["label"].values[~signal] == "none") >= 0.8
    assert res["amplitude"].dims == ("unit", "frequency") and res.sizes["frequency"] == N_TIMES // 2 + 1
    assert res["z"].dims == ("unit", "rate") and res["rate"].values.tolist() == ["sentence", "phrase"]
    assert float(res["frequency"][12]) == 1.0 and float(res["amplitude"][0, 0]) == 0.0  # DC removed
    # Phase-locked across trials: ITPC near 1 at the planted rate, low elsewhere.
    assert res["itpc"].sel(rate="sentence").values[kinds == "sentence"].min() > 0.8
    assert np.median(res["itpc"].sel(rate="sentence").values[kinds == "none"]) < 0.5
    assert (res["peak_frequency"].sel(rate="phrase") == 2.0).all()
    assert res.attrs["method"] == "hftp" and res.attrs["n_shuffles"] == 1000
    assert "labels" in caplog.text
    # FDR keeps every planted unit and tags fewer noise units than the per-unit threshold.
    fdr = ft.probe(x, correction="fdr")
    np.testing.assert_array_equal(fdr["label"].values[signal], kinds[signal])
    assert np.sum(fdr["label"].values[~signal] != "none") < np.sum(res["label"].values[~signal] != "none")


@pytest.mark.parametrize("null", ["shuffle", "circular"])
def test_false_positive_rate_on_noise_is_nominal(null):
    n_units = 2000
    x = np.random.default_rng(1).normal(size=(10, n_units, N_TIMES))
    res = ft.probe(x, null=null, random_state=3)
    lo, hi = _binomial_bounds(n_units)
    # The null test alone rejects at the nominal 5 % per rate (within a 99.9 % binomial interval) ...
    passed = (res["peak_amplitude"] > res["threshold"]).mean("unit").values
    assert np.all((passed >= lo) & (passed <= hi)), passed
    small_p = (res["p_value"] <= 0.05).mean("unit").values
    assert np.all((small_p >= lo) & (small_p <= hi)), small_p
    # ... and the z-score confirmation only removes units.
    tagged = res["tagged"].mean("unit").values
    assert np.all(tagged <= passed) and np.all(tagged <= hi)
    # With the FDR across units, pure noise gives (almost) nothing.
    fdr = ft.probe(x, null=null, random_state=3, correction="fdr")
    assert int((fdr["label"] != "none").sum()) <= 0.001 * n_units


def test_circular_null_holds_for_autocorrelated_signals():
    """Red noise sampled at 100 Hz: permuting samples whitens it, so 1 Hz passes; shifts do not."""
    e = np.random.default_rng(0).normal(size=(8, 600, 300))
    x = lfilter([1.0], [1.0, -0.95], e, axis=-1)
    shuffled = ft.probe(x, sfreq=100.0, n_shuffles=400)
    circular = ft.probe(x, sfreq=100.0, n_shuffles=400, null="circular")
    lo, hi = _binomial_bounds(600)
    assert float((shuffled["p_value"].sel(rate="sentence") <= 0.05).mean()) > 0.5
    small_p = (circular["p_value"] <= 0.05).mean("unit").values
    assert np.all((small_p >= lo) & (small_p <= hi)), small_p


def test_natural_sentences_several_phrase_rates():
    """8-word sentences: the phrase 'rate' is any of 4/k Hz (k = 2…7); off-bin ones use the nearest bin."""
    rates = ft.natural_rates(8)
    assert rates["sentence"] == 0.5 and len(rates["phrase"]) == 6
    rng = np.random.default_rng(0)
    n_times = 96
    t = _t(n_times)
    x = rng.normal(size=(10, 30, n_times))
    x[:, 0] += np.cos(2 * np.pi * (4 / 3) * t)  # a three-word phrase rhythm
    x[:, 1] += np.cos(2 * np.pi * 0.5 * t)
    res = ft.probe(x, rates=rates, n_shuffles=300)
    assert res["label"].values[:2].tolist() == ["phrase", "sentence"]
    assert float(res["peak_frequency"].sel(rate="phrase")[0]) == pytest.approx(4 / 3)


# ------------------------------------------------------------------------ the plain reference
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("null", ["shuffle", "circular"])
def test_batched_probe_matches_per_unit_reference(seed, null):
    x, _ = _planted(n_per_kind=4, n_noise=14, n_trials=6, amplitude=0.4, seed=seed)
    rates = dict(ft.DEFAULT_RATES)
    n_shuffles = 500 if null == "shuffle" else 200
    res = ft.probe(x, rates=rates, n_shuffles=n_shuffles, random_state=seed, null=null, backend="numpy")
    ref = reference_hftp(x, SFREQ, rates, n_shuffles, seed, null=null)
    for name in ("peak_amplitude", "threshold", "z"):
        np.testing.assert_allclose(res[name].values, ref[name], rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(res["p_value"].values, ref["p_value"])
    np.testing.assert_array_equal(res["label"].values, ref["label"])
    assert len(set(ref["label"])) > 1  # the comparison covers tagged and untagged units


def test_reference_with_several_frequencies_per_rate():
    rng = np.random.default_rng(4)
    n_times = 96
    x = rng.normal(size=(5, 12, n_times))
    x[:, :4] += 0.6 * np.cos(2 * np.pi * (4 / 3) * _t(n_times))
    rates = ft.natural_rates(8)
    res = ft.probe(x, rates=rates, n_shuffles=300, random_state=2, backend="numpy")
    ref = reference_hftp(x, SFREQ, rates, 300, 2)
    np.testing.assert_array_equal(res["label"].values, ref["label"])
    np.testing.assert_array_equal(res["p_value"].values, ref["p_value"])
    np.testing.assert_allclose(res["z"].values, ref["z"], rtol=1e-9)


def test_backends_agree():
    pytest.importorskip("torch")
    x, _ = _planted(n_per_kind=3, n_noise=20, seed=2)
    a = ft.probe(x, n_shuffles=300, backend="numpy")
    b = ft.probe(x, n_shuffles=300, backend="torch")
    np.testing.assert_array_equal(a["label"].values, b["label"].values)
    np.testing.assert_allclose(a["threshold"].values, b["threshold"].values, rtol=1e-10)
    np.testing.assert_array_equal(a["p_value"].values, b["p_value"].values)
    assert b.attrs["backend"] == "torch"


@pytest.mark.gpu
def test_gpu_matches_cpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    x, _ = _planted(seed=5)
    for null in ("shuffle", "circular"):
        a = ft.probe(x, null=null, backend="numpy")
        b = ft.probe(x, null=null, backend="torch_cuda")
        np.testing.assert_array_equal(a["label"].values, b["label"].values)
        np.testing.assert_allclose(a["threshold"].values, b["threshold"].values, rtol=1e-9)


# ------------------------------------------------------------------------------------ stimuli
@pytest.fixture(scope="module")
def corpus(shared_data):
    return shared_data / "hftp" / "English_syntactic_corpus.csv"


def test_make_trials_from_the_real_corpus(corpus):
    sentences = ft.read_corpus(corpus)
    assert len(sentences) == 50 and all(len(s) == 4 for s in sentences)
    trials = ft.make_trials(corpus, n_trials=10, n_sentences=12, random_state=0)
    assert trials.dims == ("presentation", "latency") and trials.shape == (10, 48)
    assert trials.attrs["word_rate"] == 4.0 and trials.attrs["n_words"] == 4
    np.testing.assert_allclose(trials["latency"].values, np.arange(48) / 4.0)
    for t in range(10):
        picks = trials["sentence"].values[t, ::4]
        assert len(set(picks.tolist())) == 12  # no sentence twice in a trial
        expected = [w for s in picks for w in sentences[s]]
        assert trials.values[t].tolist() == expected
    assert not np.array_equal(trials["sentence"].values[0, ::4], trials["sentence"].values[1, ::4])
    again = ft.make_trials(corpus, n_trials=10, n_sentences=12, random_state=0)
    assert trials.identical(again)
    # Controls: the same sentences per trial, words reordered.
    shuffled = ft.make_trials(corpus, n_trials=10, n_sentences=12, control="shuffled", random_state=0)
    within = ft.make_trials(corpus, n_trials=10, n_sentences=12, control="within_sentence", random_state=0)
    for t in range(10):
        assert sorted(shuffled.values[t]) == sorted(trials.values[t])
        assert set(shuffled["sentence"].values[t]) == set(trials["sentence"].values[t])
        for j in range(12):
            slot = slice(4 * j, 4 * j + 4)
            src = sentences[trials["sentence"].values[t, 4 * j]]
            got = within.values[t, slot].tolist()
            assert sorted(got) == sorted(src) and got != src
            assert all(got[i + 1] != src[src.index(got[i]) + 1] for i in range(3) if src.index(got[i]) < 3)
    assert shuffled.attrs["control"] == "shuffled" and trials.attrs["control"] == "none"
    assert np.mean(shuffled.values != trials.values) > 0.8


def test_read_corpus_keeps_unquoted_commas(shared_data):
    # The first sentence is not quoted although it holds a comma; pandas alone would split it.
    sentences = ft.read_corpus(shared_data / "hftp" / "English_8-naturale.csv")
    assert len(sentences) == 50 and all(len(s) == 8 for s in sentences)
    assert sentences[0] == ["With", "malice", "toward", "none,", "with", "charity", "toward", "all."]
    trials = ft.make_trials(shared_data / "hftp" / "English_8-naturale.csv", n_trials=2, n_sentences=4)
    assert trials.attrs["n_words"] == 8 and trials.sizes["latency"] == 32


def test_make_trials_bad_input(tmp_path):
    good = ["fat rat sensed fear", "wood shelf holds cans", "tan girls drove trucks"]
    with pytest.raises(ValueError, match=r"same number of words.*corpus\[1\] 'the wood shelf holds cans' has 5"):
        ft.make_trials([good[0], "the wood shelf holds cans", good[2]], n_sentences=2)
    with pytest.raises(ValueError, match=r"n_words=4.*corpus\[2\] 'tan girls drove' has 3"):
        ft.make_trials([*good[:2], "tan girls drove", "a b c d", "e f g h"], n_sentences=2, n_words=4)
    with pytest.raises(ValueError, match="n_sentences=5 exceeds the 3 sentences"):
        ft.make_trials(good, n_sentences=5)
    with pytest.raises(ValueError, match="Invalid value for control"):
        ft.make_trials(good, n_sentences=2, control="scrambled")
    with pytest.raises(ValueError, match=r"corpus\[1\] is empty"):
        ft.make_trials([good[0], "  "], n_sentences=1)
    with pytest.raises(ValueError, match="n_trials must be an integer"):
        ft.make_trials(good, n_trials=0, n_sentences=2)
    with pytest.raises(TypeError, match="corpus must be"):
        ft.make_trials(42)
    with pytest.raises(ValueError, match="no column 'sentence'"):
        path = tmp_path / "c.csv"
        path.write_text("text\nfat rat sensed fear\n")
        ft.make_trials(path, n_sentences=1, column="sentence")
    with pytest.raises(ValueError, match="no file"):
        ft.make_trials(tmp_path / "missing.csv")


# -------------------------------------------------------------------------------- model side
@pytest.fixture(scope="module")
def minilm_runs(minilm, corpus):
    """MiniLM responses and probe results on the real corpus and on shuffled-word controls."""
    model, tok = minilm
    runs = {}
    for control in (None, "shuffled"):
        trials = ft.make_trials(corpus, n_trials=10, n_sentences=12, control=control, random_state=0)
        resp = ft.model_responses(model, trials, tokenizer=tok, device="cpu")
        runs[control] = (resp, ft.probe(resp))
    return runs


def test_minilm_responses_cover_every_layer_and_word(minilm_runs):
    resp, res = minilm_runs[None]
    assert resp.dims == ("presentation", "unit", "latency") and resp.shape == (10, 7 * 384 + 6 * 1536, 48)
    layers = data.layer_names(resp.isel(latency=0))
    assert layers[:7] == ["embeddings"] + [f"encoder.layer.{i}" for i in range(6)]
    assert layers[7:] == [f"encoder.layer.{i}.intermediate" for i in range(6)]
    assert resp.attrs["sfreq"] == 4.0 and resp["word"].dims == ("presentation", "latency")
    assert res.sizes["unit"] == resp.sizes["unit"] and "layer" in res.coords


def test_minilm_tracks_phrases_and_sentences_but_not_shuffled_words(minilm_runs):
    _, real = minilm_runs[None]
    _, control = minilm_runs["shuffled"]
    real_profile, control_profile = ft.profile(real), ft.profile(control)
    n_units = real.sizes["unit"]
    _, hi = _binomial_bounds(n_units)
    # Shuffled words: no more tagged units per rate than the 5 % null allows (binomial bound) ...
    assert np.all(control["tagged"].mean("unit").values <= hi)
    assert int((ft.probe(minilm_runs["shuffled"][0], correction="fdr")["label"] != "none").sum()) <= 0.001 * n_units
    # ... while the real corpus tags far more units at both rates, in every layer.
    assert np.all(real["tagged"].mean("unit").values > 4 * hi)
    counts = real_profile["count"]
    assert (counts.sel(label=["sentence", "shared"]).sum("label") > 0).all()
    assert (counts.sel(label=["phrase", "shared"]).sum("label") > 0).all()
    assert (real_profile["proportion"].sum("label") == 1).all()
    shared_real = int(counts.sel(label="shared").sum())
    shared_control = int(control_profile["count"].sel(label="shared").sum())
    assert shared_real > 20 * max(shared_control, 1)


def test_model_responses_pool_sub_word_tokens(minilm):
    from brainalign.models import huggingface as hf

    model, tok = minilm
    trials = [
        ["unbelievably", "tokenization", "happens", "quickly", "cats", "sleep", "extraordinarily", "long"],
        ["photosynthesis", "feeds", "green", "plants", "dogs", "bark", "incomprehensibly", "loud"],
    ]
    assert len(tok.tokenize("unbelievably")) > 1  # the tokenizer does split these words
    resp = ft.model_responses(model, trials, layers=["encoder.layer.2"], mlp=False, tokenizer=tok, device="cpu")
    assert resp.shape == (2, 384, 8)
    assert resp["word"].values.tolist() == trials
    ref = hf.extract_text(model, trials, tokenizer=tok, layers=["encoder.layer.2"], pool="word", device="cpu")
    np.testing.assert_allclose(resp.values.transpose(0, 2, 1).reshape(16, 384), ref.values, rtol=1e-6)


@pytest.mark.parametrize(
    "arch, mlp_name", [("gpt2", "h.1.mlp.c_proj:input"), ("llama", "layers.1.mlp.down_proj:input")]
)
def test_causal_models_and_their_mlp_neurons(bpe_tokenizer, tiny_causal_lm, arch, mlp_name):
    model = tiny_causal_lm(arch, max_positions=256)
    words = ["fat rat sensed fear", "wood shelf holds cans", "tan girls drove trucks", "gold lamps shine light"]
    trials = ft.make_trials(words, n_trials=4, n_sentences=4)
    resp = ft.model_responses(model, trials, tokenizer=bpe_tokenizer, device="cpu")
    assert resp.shape[0] == 4 and resp.shape[2] == 16
    assert mlp_name in set(resp["layer"].values.tolist())
    only_mlp = ft.model_responses(model, trials, layers=[], tokenizer=bpe_tokenizer, device="cpu")
    assert set(only_mlp["layer"].values.tolist()) == {mlp_name.replace(".1.", ".0."), mlp_name}
    res = ft.probe(resp, n_shuffles=100)
    assert set(res["label"].values) <= {"sentence", "phrase", "shared", "none"}
    # Independent reference: trial 0 alone (no padding) through the model, the first block's output
    # (hidden_states[1]) averaged over each word's BPE tokens, found from character offsets (a token
    # that is only the space between words, "Ġ", belongs to no word).
    torch = pytest.importorskip("torch")
    first = trials.values[0].tolist()
    text = " ".join(first)
    enc = bpe_tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    spans = enc.pop("offset_mapping")[0].numpy()
    word_of = np.searchsorted(np.cumsum([0] + [len(w) + 1 for w in first[:-1]]), spans[:, 1] - 1, side="right") - 1
    word_of[[not text[a:b].strip() for a, b in spans]] = -1
    with torch.no_grad():
        hidden = model(**enc, output_hidden_states=True).hidden_states[1][0].numpy()
    expected = np.stack([hidden[word_of == k].mean(0) for k in range(len(first))], axis=1)  # unit × word
    block0 = resp["layer"].values == ("h.0" if arch == "gpt2" else "layers.0")
    np.testing.assert_allclose(resp.values[0][block0], expected, rtol=1e-5, atol=1e-6)
    # Trials longer than the model's positions are refused up front.
    with pytest.raises(ValueError, match="tokens long but the model takes at most 64"):
        long_trials = ft.make_trials(words, n_trials=1, n_sentences=4)
        ft.model_responses(tiny_causal_lm(arch, max_positions=64), long_trials, tokenizer=bpe_tokenizer, device="cpu")


def test_model_responses_bad_input(minilm):
    model, tok = minilm
    with pytest.raises(ValueError, match="trials of unequal length: trial 0 has 4 words, trial 1 has 3"):
        ft.model_responses(model, ["a b c d", "a b c"], tokenizer=tok, device="cpu")
    with pytest.raises(ValueError, match="tokenizer is required"):
        ft.model_responses(model, ["a b c d"], device="cpu")
    with pytest.raises(ValueError, match="No layers to record"):
        ft.model_responses(model, ["a b c d"], layers=[], mlp=False, tokenizer=tok, device="cpu")
    with pytest.raises(TypeError, match="trials must be"):
        ft.model_responses(model, "a b c d", tokenizer=tok, device="cpu")


# -------------------------------------------------------------------------- probe bad input
def test_probe_bad_input(caplog):
    x = np.random.default_rng(0).normal(size=(4, 3, N_TIMES))
    with pytest.raises(ValueError, match=r"1.5 Hz is not a divisor of the word rate 4 Hz"):
        ft.probe(x, rates={"phrase": 1.5})
    with pytest.raises(ValueError, match="above the Nyquist"):
        ft.probe(x, sfreq=2.0, word_rate=8.0, rates={"phrase": 2.0})
    with pytest.raises(ValueError, match="too short to resolve"):
        ft.probe(x[..., :8], rates={"slow": 0.25})
    with pytest.raises(ValueError, match="trials of unequal length"):
        ft.probe([x[0], x[1, :, :40]])
    with pytest.raises(ValueError, match=r"must be 3-D.*add a leading axis"):
        ft.probe(x[0])
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ft.probe(bad)
    with pytest.raises(ValueError, match="rate names"):
        ft.probe(x, rates={"shared": 1.0})
    with pytest.raises(TypeError, match="rates must be a non-empty mapping"):
        ft.probe(x, rates={})
    with pytest.raises(ValueError, match="alpha"):
        ft.probe(x, alpha=5)
    with pytest.raises(ValueError, match="Invalid value for null"):
        ft.probe(x, null="phase")
    with pytest.raises(ValueError, match="at least 2 trials"):
        ft.probe(x[:1], null="circular")
    # A labelled recording sampled at 100 Hz with the default sfreq=4.
    rec = data.recording(
        np.zeros((4, 2, 300)) + np.random.default_rng(0).normal(size=(4, 2, 300)),
        stimulus_id=np.arange(4),
        latency=np.arange(300) / 100.0,
        subject="S1",
        region="STG",
    )
    with pytest.raises(ValueError, match=r"sampled at 100 Hz.*pass sfreq=100"):
        ft.probe(rec)
    # Off-bin rates: the nearest bin, with a warning that says so.
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        res = ft.probe(x[..., :46], n_shuffles=50)
    assert "falls between FFT bins" in caplog.text
    assert float(res["peak_frequency"].sel(rate="sentence")[0]) == pytest.approx(round(46 / 4) * 4 / 46)


# ---------------------------------------------------------------------------------- brain side
@pytest.fixture(scope="module")
def ieeg_trials(shared_data):
    """Real iEEG (6 ECoG + 3 STN LFP channels) at 100 Hz, cut into 3-s trials."""
    mne = pytest.importorskip("mne")
    folder = shared_data / "ieeg_gripforce" / "sub-testsub" / "ses-EphysMedOff" / "ieeg"
    raw = mne.io.read_raw_brainvision(
        folder / "sub-testsub_ses-EphysMedOff_task-gripforce_run-0_ieeg.vhdr", preload=True, verbose=False
    )
    raw.pick([c for c in raw.ch_names if c != "MOV_RIGHT"]).resample(100.0, verbose=False)
    x = raw.get_data()
    x = x / x.std(axis=1, keepdims=True)  # arbitrary units (the header's scale is off)
    n = 300
    epochs = np.stack([x[:, i * n : (i + 1) * n] for i in range(x.shape[1] // n)])
    regions = ["STN" if c.startswith("LFP") else "sensorimotor" for c in raw.ch_names]
    return epochs, list(raw.ch_names), regions


def test_real_ieeg_planted_channels_per_channel_and_region(ieeg_trials):
    epochs, names, regions = ieeg_trials
    t = np.arange(epochs.shape[-1]) / 100.0
    planted = epochs.copy()
    truth = ["none"] * len(names)
    for ch, kind in ((3, "sentence"), (4, "sentence"), (5, "phrase"), (6, "shared")):
        if kind in ("sentence", "shared"):
            planted[:, ch] += 0.3 * np.cos(2 * np.pi * 1.0 * t)
        if kind in ("phrase", "shared"):
            planted[:, ch] += 0.3 * np.cos(2 * np.pi * 2.0 * t)
        truth[ch] = kind
    rec = data.recording(
        planted,
        stimulus_id=np.arange(len(planted)),
        latency=t,
        subject="testsub",
        region=regions,
        sfreq=100.0,
        neuroid_coords={"channel": names},
    )
    res = ft.probe(rec, sfreq=100.0, null="circular")
    assert res["label"].dims == ("neuroid",) and res["channel"].values.tolist() == names
    assert res["label"].values.tolist() == truth
    prof = ft.profile(res)
    assert prof["count"].dims == ("region", "label")
    assert prof["count"].sel(region="sensorimotor").values.tolist() == [2, 1, 1, 2]
    assert prof["count"].sel(region="STN", label="none").item() == 3
    # HFTP's sample shuffle treats the slow real signal as white: untouched channels pass at 1 Hz.
    hftp = ft.probe(rec, sfreq=100.0)
    untouched = np.array(truth) == "none"
    assert (hftp["p_value"].sel(rate="sentence").values[untouched] < 0.01).sum() >= 2
    assert (res["p_value"].sel(rate="sentence").values[untouched] > 0.05).all()


def test_model_brain_rsa_finds_the_planted_layers(minilm_runs, ieeg_trials):
    resp, res = minilm_runs[None]
    epochs, _, _ = ieeg_trials
    rng = np.random.default_rng(0)
    sfreq, n_trials, n_words = 100.0, resp.sizes["presentation"], resp.sizes["latency"]
    per_word = int(sfreq / 4.0)
    n_samples = n_words * per_word
    truth = {"A": "encoder.layer.0", "B": "encoder.layer.5.intermediate"}
    tagged = {layer: ((res["layer"] == layer) & (res["label"] != "none")).values for layer in truth.values()}
    # "copy": the tagged units of layer A themselves, held for each word's 250 ms.
    channels = [np.repeat(resp.values[:, tagged[truth["A"]], :], per_word, axis=-1)]
    region = ["copy"] * int(tagged[truth["A"]].sum())
    # A and B: 12 random mixtures of their layer's tagged units on top of real iEEG (circularly
    # shifted copies of the 9 channels), so the noise has the real spectrum.
    flat = np.concatenate(list(epochs), axis=-1)
    for name, layer in truth.items():
        source = resp.values[:, tagged[layer], :]
        source = (source - source.mean(axis=(0, 2), keepdims=True)) / source.std(axis=(0, 2), keepdims=True)
        words = np.einsum("cu,tuw->tcw", rng.normal(size=(12, source.shape[1])) / np.sqrt(source.shape[1]), source)
        noise = np.stack(
            [
                [np.resize(np.roll(flat[c % 9], -rng.integers(flat.shape[-1])), n_samples) for c in range(12)]
                for _ in range(n_trials)
            ]
        )
        channels.append(np.repeat(words, per_word, axis=-1) + noise)
        region += [name] * 12
    order = rng.permutation(n_trials)  # the recording lists trials in another order: paired by stimulus_id
    rec = data.recording(
        np.concatenate(channels, axis=1)[order],
        stimulus_id=resp["stimulus_id"].values[order],
        latency=np.arange(n_samples) / sfreq,
        subject="sim",
        region=region,
        sfreq=sfreq,
    )
    scores = ft.model_brain_rsa(resp, res, rec)
    assert scores.dims == ("layer", "region") and scores.attrs["n_events"] == n_trials * n_words
    assert float(scores.sel(layer=truth["A"], region="copy")) == pytest.approx(1.0, abs=1e-9)
    assert scores.sel(region="copy").idxmax("layer").item() == truth["A"]
    # Double dissociation: each noisy region prefers its own layer to the other one.
    a, b = truth["A"], truth["B"]
    assert float(scores.sel(region="A", layer=a)) > float(scores.sel(region="A", layer=b)) + 0.02
    assert float(scores.sel(region="B", layer=b)) > float(scores.sel(region="B", layer=a)) + 0.02
    # A region left with fewer than 2 tagged channels scores NaN; the other cells are unchanged.
    rec_labels = xr.Dataset({"label": ("neuroid", np.where(np.array(region) == "A", "none", "sentence"))})
    kept = ft.model_brain_rsa(resp, res, rec, rec_labels)
    assert kept.sel(region="A").isnull().all()
    xr.testing.assert_allclose(kept.drop_sel(region="A"), scores.drop_sel(region="A"), rtol=1e-12)
    with pytest.raises(ValueError, match="different trials"):
        ft.model_brain_rsa(resp, res, rec.isel(presentation=slice(0, 5)))
    with pytest.raises(ValueError, match="computed on other units"):
        ft.model_brain_rsa(resp, res.isel(unit=slice(0, 10)), rec)
    with pytest.raises(ValueError, match=r"no sample in word 40.s window \[10, 10.25\) s"):
        ft.model_brain_rsa(resp, res, rec.isel(latency=slice(0, 1000)))


# --------------------------------------------------------------------------- outputs and plots
def test_profile_order_and_saving(tmp_path):
    from brainalign.io import arrays

    x, _ = _planted(n_per_kind=2, n_noise=4)
    layer = ["late"] * 6 + ["early"] * 4
    res = ft.probe(x, n_shuffles=200).assign_coords(layer=("unit", layer))
    prof = ft.profile(res)
    assert prof["layer"].values.tolist() == ["late", "early"]  # the model's order, not alphabetical
    assert prof["label"].values.tolist() == ["sentence", "phrase", "shared", "none"]
    assert prof["n_units"].values.tolist() == [6, 4]
    assert prof["count"].sel(layer="late").values.tolist() == [2, 2, 2, 0]
    path = arrays.save(res, tmp_path / "probe.nc")
    back = arrays.load(path)
    np.testing.assert_array_equal(back["label"].values, res["label"].values)
    with pytest.raises(ValueError, match="pass by="):
        ft.profile(ft.probe(x, n_shuffles=50))
    with pytest.raises(TypeError, match="probe"):
        ft.profile(xr.Dataset())


def test_tagging_profile_plot():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from brainalign import plot

    x, _ = _planted(n_per_kind=2, n_noise=4)
    res = ft.probe(x, n_shuffles=100).assign_coords(layer=("unit", ["a"] * 5 + ["b"] * 5))
    fig = plot.tagging_profile(res, title="planted")
    ax = fig.axes[0]
    assert ax.get_title() == "planted" and len(ax.patches) == 2 * 3  # 2 layers × 3 labels
    assert fig is plot.tagging_profile(ft.profile(res), ax=ax).figure

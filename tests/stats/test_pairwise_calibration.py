"""stats.pairwise is calibrated: false positives under planted nulls and coverage of its intervals.

The datasets are those of ``benchmarks/calibration_pairwise.py`` (seeded; its docstring says what
is exchangeable under each null), fewer of them. With ``N`` datasets at alpha = 0.05 the bounds are
``alpha + 3·sd`` for the rejection rate and ``0.95 − 3·sd`` for coverage, ``sd = sqrt(0.05·0.95/N)``:
N = 200 → 0.096 / 0.904, N = 150 → 0.103 / 0.897, N = 100 → 0.115 / 0.885.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "calibration_pairwise", Path(__file__).parents[2] / "benchmarks" / "calibration_pairwise.py"
)
cp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cp)

ALPHA = 0.05


def _bounds(n):
    sd = np.sqrt(ALPHA * (1 - ALPHA) / n)
    return ALPHA + 3 * sd, 0.95 - 3 * sd


def test_sign_flip_and_its_subject_interval_under_an_exact_null():
    """Relabelled copy (each subject's difference symmetric about 0 given the stimuli), 8 subjects,
    40 stimuli, 200 datasets, no stimulus bootstrap: the sign-flip rate ≤ 0.096 (measured 0.045) and
    the subject interval's coverage of 0 ≥ 0.904 (measured 0.94; the percentile bootstrap over subjects
    it replaced: 0.87)."""
    n = 200
    tally = cp.calibrate(40, 8, "relabelled", 0.0, n, n_boot=0)["sign-flip / subject interval"]
    reject, cover = _bounds(n)
    assert tally["n"] == n
    assert tally["reject"] / n <= reject, tally
    assert tally["cover"] / n >= cover, tally


def test_one_subject_tests_under_the_population_null():
    """Equally noisy views of the truth, 1 subject, 40 stimuli, 150 datasets, n_boot=100: jackknife and
    stimulus bootstrap rates ≤ 0.103, coverage of 0 ≥ 0.897 (the bootstrap is conservative: 0 rejections)."""
    n = 150
    reject, cover = _bounds(n)
    for name, tally in cp.calibrate(40, 1, "population", 0.0, n, n_boot=100).items():
        assert tally["reject"] / n <= reject, (name, tally)
        assert tally["cover"] / n >= cover, (name, tally)


@pytest.mark.slow
def test_dual_bootstrap_null_and_coverage_of_a_planted_difference():
    """8 subjects, 40 stimuli, n_boot=100, 100 datasets each: the dual bootstrap's rate under the
    population null ≤ 0.115, and its coverage of the Monte-Carlo population difference (2000 scipy
    datasets, model b's noise 1.5 → 2.5) ≥ 0.885; the same for the one-subject jackknife."""
    n = 100
    reject, cover = _bounds(n)
    null = cp.calibrate(40, 8, "population", 0.0, n, n_boot=100)["dual bootstrap"]
    assert null["reject"] / n <= reject, null
    truth, se = cp.population_difference(40, 1.0, 2000)
    assert truth > 10 * se  # a real difference
    for n_sub, name in ((8, "dual bootstrap"), (1, "jackknife")):
        tally = cp.calibrate(40, n_sub, "population", 1.0, n, n_boot=100, truth=truth)[name]
        assert tally["cover"] / n >= cover, (name, tally)


@pytest.mark.slow
@pytest.mark.parametrize("n_sub", [8, 16])
def test_crossed_jackknife_under_the_population_null_and_a_planted_difference(n_sub):
    """test='jackknife' with several subjects (stimuli × subjects crossed), 40 stimuli, n_boot=100,
    150 datasets each: rate under the population null ≤ 0.103 (measured at 400 datasets: 0.025 with 8
    subjects, 0.045 with 16), coverage of 0 there and of the Monte-Carlo population difference (2000 scipy
    datasets, model b's noise 1.5 → 2.5) ≥ 0.897."""
    n = 150
    reject, cover = _bounds(n)
    null = cp.calibrate(40, n_sub, "population", 0.0, n, n_boot=100)["crossed jackknife"]
    assert null["n"] == n
    assert null["reject"] / n <= reject, null
    assert null["cover"] / n >= cover, null
    truth, se = cp.population_difference(40, 1.0, 2000)
    assert truth > 10 * se  # a real difference
    planted = cp.calibrate(40, n_sub, "population", 1.0, n, n_boot=100, truth=truth)["crossed jackknife"]
    assert planted["cover"] / n >= cover, planted

"""One rule decides whether a similarity map streams its layers (the cells' representations held):
the map engine and the memory planner both read :func:`brainalign.planning.streams_layers`."""

import pytest

from brainalign import planning
from brainalign.methods import resolve


@pytest.mark.parametrize("method", ["rsa", "cka", "stochastic_shape"])
@pytest.mark.parametrize(("n_cells", "n_layers", "n_boot"), [(2, 6, 0), (5, 6, 0), (6, 6, 0), (9, 6, 0), (2, 6, 10)])
def test_planner_holds_cell_representations_exactly_when_layers_stream(method, n_cells, n_layers, n_boot):
    _, _, info = resolve(method)
    # The rule written out: batched kernels (rsa: rdm, cka: represent; stochastic_shape needs trials and
    # is called per pair), fewer cells than layers, no resampling statistics.
    expected = method != "stochastic_shape" and n_cells < n_layers and not n_boot
    assert planning.streams_layers(info, n_cells, n_layers, bool(n_boot)) is expected
    plan = planning.estimate_from_shapes(40, [8] * n_layers, 10, n_cells, method, n_boot=n_boot, budget="4GB")
    assert ("cell representations" in plan.parts) is expected
    assert ("layer representations" in plan.parts) is not expected


def test_no_cells_stream_nothing():
    _, _, info = resolve("rsa")
    assert planning.streams_layers(info, 0, 6, False) is False
    assert planning.batched_kernels(info) is True
    assert planning.batched_kernels(resolve("stochastic_shape")[2]) is False

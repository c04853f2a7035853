"""Parameter descriptions shared by public functions, filled into docstrings from one dictionary.

nilearn's ``fill_doc`` idiom: a docstring writes ``%(backend)s`` where the shared description of
``backend`` belongs, and :func:`fill_doc` fills it in when the module is imported.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DOCS", "fill_doc"]

#: Shared parameter descriptions, by placeholder name.
DOCS: dict[str, str] = {
    "XY": """X, Y : xarray.DataArray or array
        Two representations of the same stimuli: activations ``(presentation, unit)`` or
        recordings ``(presentation, neuroid)``, matched on ``stimulus_id`` in any order, or
        plain numpy/torch arrays ``(n_stimuli, n_features)`` matched by row.""",
    "by": """by : str or None
        Feature groups scored separately, all groups of ``X`` against all groups of ``Y`` in
        one call: ``"auto"`` groups activations by ``layer`` and recordings by ``region``;
        ``None`` takes each input whole; a tuple gives ``X``'s and ``Y``'s.""",
    "backend": """backend : {"numpy", "torch", "torch_cuda", "auto"}, optional
        Where to compute; ``None`` follows the inputs (a torch tensor stays in torch, on its
        device). Float32 input is computed in float32, anything else in float64.""",
    "encoder_backend": """backend : {"auto", "numpy", "torch", "torch_cuda"}
        Where to compute (:func:`brainalign.backend.get_backend`): ``"auto"`` picks
        ``torch_cuda`` when a GPU is present, else numpy.""",
    "held_out": """Y, P : numpy.ndarray
        Held-out responses and their predictions ``(n_samples, n_targets)``.
    folds : list of numpy.ndarray
        The held-out sample indices of each fold.""",
    "random_state": """random_state : int, numpy.random.Generator or None
        Seed (or generator) of every random draw, so that a call can be repeated exactly;
        ``None`` draws a fresh seed.""",
    "ci": """ci : float
        Coverage of the confidence intervals, in (0, 1).""",
    "alpha": """alpha : float
        False discovery rate (Benjamini–Hochberg) at which ``significant`` is set, in (0, 1).""",
    "ax": """ax : matplotlib Axes, optional
        Draw into these axes; by default a new figure is made.""",
    "axes_title": """title : str, optional
        The axes' title.""",
    "figure_title": """title : str, optional
        The figure's title.""",
    "plot_alpha": """alpha : float
        Without ``significant``: the ``p_fdr`` threshold.""",
    "extract_options": """batch_size, device, cache, model_name
        As in :func:`brainalign.models.extract`.
    project, store
        As in :func:`brainalign.models.extract` (a projection per layer while extracting; a zarr
        store written batch by batch). Not with kept tokens (``pool=None``).""",
}


def fill_doc(func: Any) -> Any:
    """Fill ``%(name)s`` placeholders of ``func``'s docstring from :data:`DOCS`.

    Examples
    --------
    >>> @fill_doc
    ... def f(random_state=None):
    ...     '''Draw.
    ...
    ...     Parameters
    ...     ----------
    ...     %(random_state)s
    ...     '''
    >>> "Seed (or generator)" in f.__doc__
    True
    """
    if func.__doc__:
        func.__doc__ = func.__doc__ % DOCS
    return func

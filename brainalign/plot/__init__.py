"""Figures of alignment maps (matplotlib and nilearn; imported when first used).

Every function returns a matplotlib figure; :func:`save_figure` writes it as PNG, PDF or SVG.
"""

from ._brain import brain_map
from ._comparison import model_comparison
from ._maps import heatmap, layer_profile, time_course
from ._studies import identifiability, tagging_profile
from ._style import save_figure

__all__ = [
    "brain_map",
    "heatmap",
    "identifiability",
    "layer_profile",
    "model_comparison",
    "save_figure",
    "tagging_profile",
    "time_course",
]

"""Layer × cell alignment maps (DESIGN.md §4): scores, ceilings, confidence intervals, p-values.

:func:`alignment_map` runs one method over every layer × cell pair (cells: regions or searchlight
neighbourhoods; per subject, per latency) and returns the map Dataset of DESIGN.md §1;
:func:`group_map` turns a per-subject map into the group map; :func:`best_layer` reads the best
layer of each cell, whichever direction the method's scores run.
"""

from ._engine import alignment_map
from ._group import best_layer, group_map, summary_view, with_group

__all__ = ["alignment_map", "best_layer", "group_map", "summary_view", "with_group"]

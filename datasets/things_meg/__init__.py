"""THINGS-MEG (Hebart et al. 2023): MEG of 4 people viewing 22 448 THINGS object images (ds004212).

The loader lives in :mod:`.loader`; the card is README.md, the checksum list checksums.txt.
"""

from .loader import *  # noqa: F403
from .loader import __all__  # noqa: F401

"""LeBel et al. (2023): fMRI of 8 people listening to 27-84 narrative stories (OpenNeuro ds003020).

The loader lives in :mod:`.loader`; the card is README.md, the checksum list checksums.txt.
"""

from .loader import *  # noqa: F403
from .loader import __all__  # noqa: F401

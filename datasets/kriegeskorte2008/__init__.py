"""Kriegeskorte et al. (2008): 92 object images, human IT (fMRI) and monkey IT (cells) RDMs.

The loader lives in :mod:`.loader`; the card is README.md, the checksum list checksums.txt.
"""

from .loader import *  # noqa: F403
from .loader import __all__  # noqa: F401

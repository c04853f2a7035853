"""HFTP syntactic stimulus corpora (An et al., NeurIPS 2025): four-word sentences for frequency tagging.

The loader lives in :mod:`.loader`; the card is README.md, the checksum list checksums.txt.
"""

from .loader import *  # noqa: F403
from .loader import __all__  # noqa: F401

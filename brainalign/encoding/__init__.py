"""Encoding models scored on held-out data: :func:`encode` (every neuroid, layer by layer) and
:class:`Encoding` (an encoder with its outer protocol, the encoder method of a map)."""

from ._encode import encode
from ._protocol import Encoding

__all__ = ["Encoding", "encode"]

"""Small shared helpers: logging, options, progress bars, input checks."""

from ._checks import (
    ComplexDataError,
    check_count,
    check_option,
    check_random_state,
    check_real,
    check_writable_dir,
    close_matches,
    dask_client,
    quietly,
    soft_import,
    validate_type,
)
from ._docs import DOCS, fill_doc
from ._logging import get_options, logger, progress, set_log_level, set_options

__all__ = [
    "DOCS",
    "ComplexDataError",
    "check_count",
    "check_option",
    "check_random_state",
    "check_real",
    "check_writable_dir",
    "close_matches",
    "dask_client",
    "fill_doc",
    "get_options",
    "logger",
    "progress",
    "quietly",
    "set_log_level",
    "set_options",
    "soft_import",
    "validate_type",
]

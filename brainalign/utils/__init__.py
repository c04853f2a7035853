"""Small shared helpers: logging, options, progress bars, input checks."""

from ._checks import (
    ComplexDataError,
    check_bool,
    check_count,
    check_float_dtype,
    check_mapping,
    check_number,
    check_option,
    check_random_state,
    check_real,
    check_sequence,
    check_text,
    check_writable_dir,
    close_matches,
    validate_type,
)
from ._docs import DOCS, fill_doc
from ._logging import get_options, logger, progress, set_log_level, set_options
from ._runtime import dask_client, quietly, soft_import

__all__ = [
    "DOCS",
    "ComplexDataError",
    "check_bool",
    "check_count",
    "check_float_dtype",
    "check_mapping",
    "check_number",
    "check_option",
    "check_random_state",
    "check_real",
    "check_sequence",
    "check_text",
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

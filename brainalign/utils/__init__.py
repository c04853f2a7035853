"""Small shared helpers: logging, options, progress bars, input checks."""

from ._checks import (
    check_option,
    check_random_state,
    check_writable_dir,
    close_matches,
    soft_import,
    validate_type,
)
from ._logging import get_options, logger, progress, set_log_level, set_options

__all__ = [
    "check_option",
    "check_random_state",
    "check_writable_dir",
    "close_matches",
    "get_options",
    "logger",
    "progress",
    "set_log_level",
    "set_options",
    "soft_import",
    "validate_type",
]

"""The check of an option that takes one of a few named values."""
from typing import Any, Collection


def check_one_of(name: str, value: Any, choices: Collection) -> None:
    """Raise ``ValueError('<name> must be one of <choices>, got <value>')``
    unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {choices}, got {value!r}')

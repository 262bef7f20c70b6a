"""The library's own exceptions that more than one package raises.

Each message names what was wrong and where (file, line, byte, step) and, where
there is one, what to do about it.
"""


class DataError(RuntimeError):
    """Data is missing, corrupt or unsafe. The message says what and where."""


class VectorFileError(ValueError):
    """A vector file is malformed. The message names the file and the line or byte offset."""


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the message names the step."""

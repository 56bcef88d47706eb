"""One exception hierarchy; the CLI maps every McuError to a one-line message and exit code 2."""


# Where an unsupported-op message sends the user (the whole op list in one error line helps nobody).
SUPPORTED_OPS_HINT = "run 'mcucompress ops' or see docs/SUPPORTED_OPS.md for the supported ops and their rules"


class McuError(Exception):
    """Base class of every error a user can cause; its message is shown as one line."""

    exit_code = 2


class ModelFileError(McuError):
    """The model file is missing, empty, truncated or not in a format we read."""


class UnsupportedOpError(McuError):
    """The model uses an operator (or an operator variant) we do not support."""


class HybridModelError(McuError):
    """A float model with int8 weights: neither a float nor an int8 model."""


class GraphError(McuError):
    """The IR is inconsistent (shapes, dtypes, dangling tensors, quantization)."""


class DataError(McuError):
    """Input data (an .npz of samples) does not fit the model."""


class QuantizationError(McuError):
    """A scale or multiplier cannot be represented in our fixed-point arithmetic."""

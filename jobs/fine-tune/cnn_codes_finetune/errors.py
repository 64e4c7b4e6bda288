"""One error tree, mirroring core/errors.ts: `code` is stable for machines, the message is for people."""


class FineTuneError(Exception):
    code = "FINE_TUNE"


class ConfigError(FineTuneError):
    """A message field, option or descriptor is wrong. Not retryable."""

    code = "CONFIG"


class DataError(FineTuneError):
    """The dataset is missing, empty or not in the ImageFolder layout."""

    code = "DATA"


class ConversionCheckError(FineTuneError):
    """The converted backbone does not reproduce the ONNX model closely enough to be worth training."""

    code = "CONVERSION"

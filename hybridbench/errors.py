"""User-facing errors: one line that says what went wrong and what to do about it."""


class HybridbenchError(Exception):
    """An error caused by the user's input or environment, printed by the CLI as one line (no traceback)."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class UnknownNameError(HybridbenchError):
    """A codec, suite, ASR or metric name that no registry knows."""


class WeightsNotFoundError(HybridbenchError):
    """A codec's weights are not present here."""


class AudioReadError(HybridbenchError):
    """An audio file that cannot be decoded."""


class TooFewPairsError(HybridbenchError):
    """A paired comparison with fewer items scored by both sides than it needs; `pairs` says how many there are."""

    def __init__(self, message: str, hint: str | None = None, *, pairs: int):
        super().__init__(message, hint)
        self.pairs = pairs

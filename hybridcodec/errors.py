"""User-facing errors of the HybridCodec package: one line that says what went wrong and what to do about it."""


class HybridcodecError(Exception):
    """An error caused by the user's input or environment, printed by the CLI as one line (no traceback)."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)

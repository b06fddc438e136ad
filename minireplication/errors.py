"""User-facing errors of the replication: one line that says what went wrong and what to do about it."""

from hybridcodec.errors import HybridcodecError


class ReplicationError(HybridcodecError):
    """A replication step refused (a mixed recipe, a missing shipped variant, an unknown arm); printed as one line."""

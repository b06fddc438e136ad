"""hybridbench: compare neural speech codecs at every RVQ depth with real ASR and signal metrics."""

__version__ = "0.1.0"

"""Every registered codec declares its capabilities consistently; the runner plans from the declarations."""

from __future__ import annotations

import pytest

from hybridbench.codecs import CODECS, DepthKind
from hybridbench.codecs.base import Codec


@pytest.mark.parametrize("name", CODECS.names())
def test_declared_capabilities_are_consistent(name: str):
    cls = CODECS.get(name)
    info = cls.describe()
    assert isinstance(info.depth_kind, DepthKind)
    assert info.depths == tuple(sorted(set(info.depths)))
    assert info.depths[0] >= 1 and info.depths[-1] <= info.num_codebooks
    # Only operating points carry their own per-depth rates; a residual stack's bitrate grows with depth.
    assert (info.depth_bitrates is not None) == (info.depth_kind is DepthKind.OPERATING_POINTS)
    if info.depth_kind is not DepthKind.OPERATING_POINTS:
        rates = [info.bitrate(d) for d in info.depths]
        assert rates == sorted(rates) and len(set(rates)) == len(rates)
    if info.valid_depths is not None:
        assert info.depth_kind is DepthKind.MULTI_SCALE
    # A codec timed apart from its SSL model has one, and runs it alone.
    if cls.ssl_timed_apart:
        assert cls.needs_ssl_at_inference and cls.semantic_features is not Codec.semantic_features
    if info.streamable:
        assert info.causal
    assert info.to_dict()["depth_kind"] == info.depth_kind.value


def test_the_classic_codecs_are_described_as_what_they_are():
    assert CODECS.get("opus").describe().depth_kind is DepthKind.OPERATING_POINTS
    assert CODECS.get("amr-nb").describe().depth_kind is DepthKind.OPERATING_POINTS
    assert CODECS.get("g722").describe().depth_kind is DepthKind.RESIDUAL  # an embedded coder
    assert CODECS.get("snac-24khz").describe().depths == (1, 3, 7)

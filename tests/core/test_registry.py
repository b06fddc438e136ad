"""The generic registry: decorator registration, entry-point plugins from another distribution, errors."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from hybridbench.codecs import CODECS, Codec
from hybridbench.errors import UnknownNameError
from hybridbench.registry import PluginLoadWarning, Registry


def test_builtins_come_from_entry_points():
    names = CODECS.names()
    assert {"identity", "dac-16khz", "dac-24khz", "dac-44khz"} <= set(names)
    assert CODECS.get("dac-16khz").__name__ == "Dac16kHz"


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownNameError) as err:
        CODECS.get("dac-16kz")
    message = str(err.value)
    assert "unknown codec 'dac-16kz'" in message
    assert "did you mean 'dac-16khz'" in message
    assert "hybridbench codecs" in message


def test_decorator_registers_and_refuses_a_second_owner():
    reg: Registry[type] = Registry("widget", group="hybridbench.tests.none", list_hint="widgets")

    @reg.register()
    class Alpha:
        name = "alpha"

    assert reg.get("alpha") is Alpha
    with pytest.raises(ValueError, match="already registered"):

        @reg.register("alpha")
        class Other:
            pass


def _write_dist(root, dist_name: str, module: str, source: str, entry_points: str) -> None:
    """A minimal installed distribution on disk: a module plus a .dist-info with entry_points.txt."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist_name}-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_third_party_codec_plugs_in_without_editing_hybridbench(tmp_path, monkeypatch):
    _write_dist(
        tmp_path,
        "throwaway_codec",
        "throwaway_codec",
        """
        import torch
        from hybridbench.codecs import Codec

        class HalfCodec(Codec):
            name = "throwaway-half"
            sample_rate = 16000
            frame_rate = 8000.0
            codebook_sizes = (256,)

            @classmethod
            def load(cls, *, weights=None, device="cpu"):
                return cls(device=device)

            def encode(self, wav):
                return ((wav[..., ::2].clamp(-1, 1) + 1) * 127.5).round().long()

            def _decode(self, codes):
                return (codes.float() / 127.5 - 1).repeat_interleave(2, dim=-1)
        """,
        """
        [hybridbench.codecs]
        throwaway-half = throwaway_codec:HalfCodec
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[type[Codec]] = Registry("codec", group="hybridbench.codecs", list_hint="hybridbench codecs")
    assert "throwaway-half" in reg.names()
    assert "identity" in reg.names()  # built-ins and the plugin arrive through the same path
    codec = reg.get("throwaway-half").load()
    wav = torch.linspace(-1, 1, 16000).reshape(1, 1, -1)
    codes = codec.encode(wav)
    assert codes.shape == (1, 1, 8000)
    assert codec.bitrate(1) == 8000 * 8
    out = codec.decode(codes, length=16000)
    assert out.shape == wav.shape
    assert torch.allclose(out, wav, atol=2 / 255 + 1e-3)
    sys.modules.pop("throwaway_codec", None)


def test_broken_plugin_warns_names_itself_and_does_not_break_the_rest(tmp_path, monkeypatch):
    _write_dist(
        tmp_path,
        "broken_codec",
        "broken_codec",
        "raise ImportError('needs a package that is not installed')\n",
        """
        [hybridbench.codecs]
        broken-codec = broken_codec:Missing
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[type[Codec]] = Registry("codec", group="hybridbench.codecs", list_hint="hybridbench codecs")
    with pytest.warns(PluginLoadWarning, match="broken-codec"):
        names = reg.names()
    assert "identity" in names and "broken-codec" not in names
    assert "needs a package that is not installed" in reg.broken()["broken-codec"]
    with pytest.raises(UnknownNameError, match="failed to load"):
        reg.get("broken-codec")
    sys.modules.pop("broken_codec", None)

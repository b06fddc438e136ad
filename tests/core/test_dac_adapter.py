"""DAC through the adapter equals DAC's own k-codebook path, for the published 16 kHz architecture."""

from __future__ import annotations

import dac
import pytest
import torch

from hybridbench.codecs import CODECS
from hybridbench.errors import HybridbenchError, WeightsNotFoundError

# The published 16 kHz configuration (PROTOCOL.md), with random weights: equivalence does not depend on values.
DAC16 = dict(
    encoder_dim=64,
    encoder_rates=[2, 4, 5, 8],
    decoder_dim=1536,
    decoder_rates=[8, 5, 4, 2],
    n_codebooks=12,
    codebook_size=1024,
    codebook_dim=8,
    quantizer_dropout=0.5,
    sample_rate=16000,
)
# Same rates, codebooks and code paths, narrower layers: the every-k comparison runs 24 decodes, and the
# published decoder takes seconds per call on a 2-core CPU.
DAC16_NARROW = DAC16 | dict(encoder_dim=16, decoder_dim=96)


def _save(model, folder):
    path = folder / "weights_16khz.pth"
    model.save(str(path), package=False)  # DAC's own checkpoint format
    return path


@pytest.fixture(scope="module")
def dac16_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = dac.DAC(**DAC16_NARROW)
    return model.eval(), _save(model, tmp_path_factory.mktemp("dac"))


def test_published_16khz_architecture_loads_and_matches(tmp_path):
    torch.manual_seed(0)
    model = dac.DAC(**DAC16).eval()
    codec = CODECS.get("dac-16khz").load(weights=str(_save(model, tmp_path)))
    assert codec.parameter_count() == sum(p.numel() for p in model.parameters())
    wav = 0.1 * torch.randn(1, 1, 1600)
    codes = codec.encode(wav)
    assert codes.shape == (1, 12, 5)
    with torch.inference_mode():
        theirs = model.decode(model.quantizer.from_codes(codes)[0])
    ours = codec.decode(codes, length=1600)
    # DAC's decoder returns a few samples less than frames x hop (1592 here); the adapter zero-pads to the input.
    n = theirs.shape[-1]
    assert n < 1600
    torch.testing.assert_close(ours[..., :n], theirs, rtol=0, atol=0)
    assert torch.count_nonzero(ours[..., n:]) == 0


def test_decode_of_every_prefix_equals_dacs_own_path(dac16_checkpoint):
    model, path = dac16_checkpoint
    codec = CODECS.get("dac-16khz").load(weights=str(path))
    torch.manual_seed(1)
    wav = 0.1 * torch.randn(1, 1, 3000)  # not a multiple of the hop: exercises padding and trimming
    codes = codec.encode(wav)
    with torch.inference_mode():
        _, ref_codes, *_ = model.encode(model.preprocess(wav, 16000))
    assert codes.dtype == torch.int64
    assert codes.shape == (1, 12, 10)  # ceil(3000 / 320) frames
    assert torch.equal(codes, ref_codes)
    for k in range(1, 13):
        ours = codec.decode(codes[:, :k], length=wav.shape[-1])
        with torch.inference_mode():
            theirs = model.decode(model.quantizer.from_codes(codes[:, :k])[0])[..., : wav.shape[-1]]
        assert ours.shape == wav.shape
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_decode_at_depth_k_ignores_later_codebooks(dac16_checkpoint):
    _, path = dac16_checkpoint
    codec = CODECS.get("dac-16khz").load(weights=str(path))
    codes = codec.encode(0.1 * torch.randn(1, 1, 3200))
    changed = codes.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % 1024
    torch.testing.assert_close(codec.decode(codes[:, :4]), codec.decode(changed[:, :4]), rtol=0, atol=0)
    assert not torch.equal(codec.decode(codes[:, :5]), codec.decode(changed[:, :5]))


def test_bitrates_are_derived_from_frame_rate_and_codebooks():
    dac16 = CODECS.get("dac-16khz").describe()
    assert dac16.bitrate(12) == 6000
    assert dac16.bitrate(1) == 500
    assert CODECS.get("dac-24khz").describe().bitrate(32) == 24000
    assert CODECS.get("dac-44khz").describe().bitrate(9) == pytest.approx(44100 / 512 * 90)
    with pytest.raises(HybridbenchError, match="out of range"):
        dac16.bitrate(13)


def test_missing_weights_say_how_to_get_them(tmp_path):
    cls = CODECS.get("dac-16khz")
    status = cls.weights_status(str(tmp_path / "absent.pth"))
    assert not status.available
    with pytest.raises(WeightsNotFoundError, match="--weights"):
        cls.load(weights=str(tmp_path / "absent.pth"))


def test_corrupt_or_foreign_checkpoints_are_refused(tmp_path, dac16_checkpoint):
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(dac16_checkpoint[1].read_bytes()[:5000])
    with pytest.raises(HybridbenchError, match="not a readable DAC checkpoint"):
        CODECS.get("dac-16khz").load(weights=str(bad))
    # A valid DAC file of another configuration must not be loaded as dac-16khz.
    with pytest.raises(HybridbenchError, match="dac-24khz"):
        CODECS.get("dac-24khz").load(weights=str(dac16_checkpoint[1]))


def test_a_wrong_checkpoint_is_refused_while_the_run_plans(tmp_path, dac16_checkpoint):
    """A 16 kHz file passed as dac-24khz's weights stops the run before any codec computes a row."""
    from hybridbench.runner import RunConfig, Runner

    assert CODECS.get("dac-16khz").describe(str(dac16_checkpoint[1])).sample_rate == 16000
    with pytest.raises(
        HybridbenchError, match=r"dac-24khz: the checkpoint has .* = \(16000, 320, 12, 1024\)"
    ):
        CODECS.get("dac-24khz").describe(str(dac16_checkpoint[1]))
    config = RunConfig(
        codecs=["identity", "dac-24khz"], suites=["synthetic-en"], out=tmp_path / "run", limit=1,
        weights={"dac-24khz": str(dac16_checkpoint[1])}, timing_repeats=1,
    )  # fmt: skip
    with pytest.raises(HybridbenchError, match="another DAC configuration"):
        Runner(config).plan()
    assert not (tmp_path / "run" / "results.sqlite").exists()
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(dac16_checkpoint[1].read_bytes()[:5000])
    with pytest.raises(HybridbenchError, match="not a readable DAC checkpoint"):
        CODECS.get("dac-16khz").describe(str(bad))

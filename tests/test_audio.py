"""What users throw at `load_audio` / `load_tensor`, item by item: each input either works or raises a one-line
AudioReadError (which the runner records as a counted failure)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import soundfile as sf
import torch

from hybridbench.audio import RESAMPLER, load_audio, load_tensor, probe_duration, resample, write_wav
from hybridbench.errors import AudioReadError

SR = 16000


@functools.lru_cache(maxsize=1)
def _speech() -> np.ndarray:
    from py_nanotts import NanoTTS

    pcm = NanoTTS().speak("The quick brown fox jumps over the lazy dog.", voice="en-US")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


@pytest.fixture
def speech() -> np.ndarray:
    return _speech().copy()


def _at_rate(x: np.ndarray, sr: int) -> np.ndarray:
    n = int(round(len(x) * sr / SR))
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)


def _write_g722(path, x):
    import av

    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")[None, :]
    with av.open(str(path), "w", format="g722") as container:
        stream = container.add_stream("g722", rate=SR)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SR
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def _raises_one_line(path, match):
    with pytest.raises(AudioReadError, match=match) as excinfo:
        load_tensor(path, SR)
    assert "\n" not in str(excinfo.value) and str(path) in str(excinfo.value)


@pytest.mark.parametrize(
    ("ext", "subtype", "tolerance"),
    [
        ("wav", "PCM_U8", 1 / 64),
        ("wav", "PCM_16", 1e-4),
        ("wav", "PCM_24", 1e-6),
        ("wav", "PCM_32", 1e-6),
        ("wav", "FLOAT", 0),
        ("wav", "DOUBLE", 1e-7),
        ("flac", "PCM_16", 1e-4),
        ("flac", "PCM_24", 1e-6),
    ],
)
def test_bit_depths_and_formats_read_back(tmp_path, speech, ext, subtype, tolerance):
    path = tmp_path / f"x.{ext}"
    sf.write(str(path), speech, SR, subtype=subtype)
    data, sr = load_audio(path)
    assert sr == SR and data.dtype == np.float32 and data.shape == speech.shape
    assert np.abs(data - speech).max() <= tolerance
    assert probe_duration(path) == pytest.approx(len(speech) / SR)


def test_mp3(tmp_path, speech):
    path = tmp_path / "x.mp3"
    sf.write(str(path), _at_rate(speech, 48000), 48000, format="MP3")
    data, sr = load_audio(path)
    assert sr == 48000
    assert len(data) == pytest.approx(len(speech) * 3, abs=2400)
    assert np.corrcoef(data[: len(speech) * 3], _at_rate(speech, 48000)[: len(data)])[0, 1] > 0.9
    assert probe_duration(path) == pytest.approx(len(speech) / SR, abs=0.05)


def _write_mp3_with_ffmpeg(path, x, *, vbr: bool, length_header: bool):
    """An MP3 as LAME through FFmpeg writes it; `length_header=False` leaves out the Xing/Info frame, as some
    encoders and stream rippers do."""
    import av

    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    with av.open(
        str(path), "w", format="mp3", options={"write_xing": "1" if length_header else "0"}
    ) as container:
        stream = container.add_stream("libmp3lame", rate=SR)
        stream.layout = "mono"
        if vbr:
            stream.codec_context.flags |= 2  # AV_CODEC_FLAG_QSCALE: quality-driven variable bitrate
            stream.codec_context.global_quality = 9 * 118  # FF_QP2LAMBDA * 9: LAME -V9, the most variable
        for start in range(0, len(pcm), 1152):
            frame = av.AudioFrame.from_ndarray(
                pcm[None, start : start + 1152].copy(), format="s16", layout="mono"
            )
            frame.sample_rate = SR
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.mark.parametrize("vbr", [False, True])
def test_mp3_without_length_header_is_not_called_truncated(tmp_path, speech, vbr):
    """Without a Xing/Info header a VBR MP3's length is guessed from its first frame (2x off here): the reader
    must not mistake that for truncation, and the probed duration must come from the frames, not the guess."""
    x = np.concatenate([speech, np.zeros(3 * SR, dtype=np.float32), speech])  # silence makes the bitrate vary
    path = _write_mp3_with_ffmpeg(tmp_path / "x.mp3", x, vbr=vbr, length_header=False)
    data, sr = load_audio(path)
    assert sr == SR and len(data) == pytest.approx(len(x), abs=2 * 1152)
    assert probe_duration(path) == pytest.approx(len(data) / SR, abs=0.01)


def test_g722(tmp_path, speech):
    path = _write_g722(tmp_path / "x.g722", speech)
    data, sr = load_audio(path)
    assert sr == SR and len(data) == len(speech)
    assert probe_duration(path) == len(speech) / SR  # exact: 8,000 bytes per second
    # A lossy 64 kbit/s codec with a short delay: the level survives, the waveform is close but not identical.
    assert np.sqrt(np.mean(data**2)) == pytest.approx(np.sqrt(np.mean(speech**2)), rel=0.2)


def test_stereo_is_averaged_to_mono(tmp_path, speech):
    left, right = speech, 0.5 * speech[::-1].copy()
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([left, right], axis=1), SR, subtype="FLOAT")
    data, _ = load_audio(path)
    np.testing.assert_allclose(data, (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000])
def test_any_sample_rate_is_resampled_once(tmp_path, speech, sr):
    path = tmp_path / f"x{sr}.wav"
    sf.write(str(path), _at_rate(speech, sr), sr, subtype="PCM_16")
    wav = load_tensor(path, SR)
    assert wav.shape == (1, 1, pytest.approx(len(speech), abs=2))
    if sr >= SR:  # down-sampling keeps the speech band: the result matches the 16 kHz original
        n = min(wav.shape[-1], len(speech))
        assert np.corrcoef(wav[0, 0, :n].numpy(), speech[:n])[0, 1] > 0.95


def test_resampler_is_named_and_identity_at_same_rate():
    x = torch.randn(1, 1, 1000)
    assert resample(x, SR, SR) is x
    assert "sinc_interp_hann" in RESAMPLER


def test_very_short_item_works(tmp_path, speech):
    path = tmp_path / "short.wav"
    sf.write(str(path), speech[: int(0.2 * SR)], SR)
    assert load_tensor(path, 24000).shape[-1] == int(0.2 * 24000)


def test_very_long_item_works(tmp_path, speech):
    long = np.tile(speech, int(np.ceil(65 * SR / len(speech))))[: 65 * SR]
    path = tmp_path / "long.flac"
    sf.write(str(path), long, SR)
    assert probe_duration(path) == 65.0
    assert load_tensor(path, SR).shape[-1] == 65 * SR


def test_silence_and_clipping_load_unchanged(tmp_path, speech):
    silent = tmp_path / "silence.wav"
    sf.write(str(silent), np.zeros(SR, dtype=np.float32), SR)
    assert float(load_tensor(silent, SR).abs().max()) == 0.0
    clipped = tmp_path / "clipped.wav"
    sf.write(str(clipped), np.clip(speech * 20, -1, 1), SR, subtype="PCM_16")
    data, _ = load_audio(clipped)
    assert data.max() == pytest.approx(32767 / 32768) and data.min() == -1.0
    assert np.mean(np.abs(data) > 0.99) > 0.05  # really clipped: a good share of samples sit at full scale


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3"])
def test_truncated_file_is_a_clear_error(tmp_path, speech, ext):
    path = tmp_path / f"cut.{ext}"
    sf.write(str(path), speech, SR, **({"format": "MP3"} if ext == "mp3" else {}))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _raises_one_line(path, "truncated|cannot decode")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    _raises_one_line(path, r"empty \(0 bytes\)")
    assert probe_duration(path) is None


def test_missing_file_and_folder(tmp_path):
    _raises_one_line(tmp_path / "nope.wav", "not found")
    _raises_one_line(tmp_path, "is a folder")
    assert probe_duration(tmp_path / "nope.wav") is None


def test_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is a text file with a .wav name\n" * 20)
    _raises_one_line(path, "cannot decode")


def test_header_only_wav_has_no_samples(tmp_path):
    path = tmp_path / "header.wav"
    sf.write(str(path), np.zeros(0, dtype=np.float32), SR)
    _raises_one_line(path, "has no samples")


def test_nan_samples(tmp_path, speech):
    speech[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(str(path), speech, SR, subtype="FLOAT")
    _raises_one_line(path, "NaN")


def test_streaming_wav_with_unknown_length_is_not_called_truncated(tmp_path, speech):
    """Writers that stream set the data size to 0xFFFFFFFF before they know it; such files are fine."""
    path = tmp_path / "stream.wav"
    sf.write(str(path), speech, SR, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"data") + 4
    raw[at : at + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(raw))
    data, _ = load_audio(path)
    assert len(data) == len(speech)


def test_write_wav_round_trip(tmp_path, speech):
    path = tmp_path / "out" / "y.wav"
    write_wav(path, torch.from_numpy(speech * 2), SR)  # out of range: clipped on write, not wrapped
    data, sr = load_audio(path)
    assert sr == SR and data.max() <= 1.0 and not list(path.parent.glob("*.tmp"))

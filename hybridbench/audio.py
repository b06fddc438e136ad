"""Reading audio files and resampling, the same way everywhere.

Files are read with soundfile (WAV, FLAC, OGG, MP3 where libsndfile supports it) and fall back to PyAV (FFmpeg)
for everything else (MP3, G.722, M4A ...). Audio becomes mono float32 by averaging channels. Resampling uses
torchaudio's band-limited sinc interpolation with a Hann window (`RESAMPLER`), named in every run's provenance.

What a user's file can do to a run, and what happens (each case is tested in tests/test_audio.py):

- stereo or more channels: averaged to mono;
- 8/16/24/32-bit integer or float samples, any sample rate: read as float32, resampled once by `load_tensor`;
- missing, zero-byte, undecodable, NaN/inf-valued or truncated files: `AudioReadError` with a one-line reason,
  which the runner records as a counted per-item failure. Truncation is caught by comparing the number of
  samples decoded with the number the file's header declares, because decoders quietly return the part they
  could read (except for MP3s without a Xing/Info/VBRI length header, whose length is only an estimate, and
  headerless G.722, where any byte count is a valid file);
- very short, very long, silent or clipped audio decodes as it is: whether a metric can use it is the
  metric's decision, not the reader's.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from hybridbench.errors import AudioReadError

RESAMPLER = "torchaudio.functional.resample(sinc_interp_hann, lowpass_filter_width=6, rolloff=0.99)"

# FFmpeg needs to be told the container of raw G.722 files: they have no header.
_RAW_FORMATS = {".g722": "g722"}

# G.722 codes 16 kHz audio at 64 kbit/s: every byte holds two samples, so the size gives the duration exactly.
_G722_SAMPLE_RATE = 16000
_G722_BYTES_PER_SECOND = 8000

# A decode may fall this short of the header's sample count without being called truncated: MP3 headers count
# encoder delay and padding (up to ~2,200 samples) and headerless VBR MP3 lengths are estimates.
_TRUNCATION_SLACK_FRACTION = 0.02
_TRUNCATION_SLACK_SAMPLES = 4096


def load_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file as mono float32 and its sample rate.

    Raises AudioReadError with the file name and reason for a missing, empty, truncated or undecodable file.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise AudioReadError(f"audio file {what}: {path}", "check the path or re-prepare the suite")
    if path.stat().st_size == 0:
        raise AudioReadError(f"audio file is empty (0 bytes): {path}", "re-create or re-download it")
    wav_problem = _wav_truncation(path)
    if wav_problem:
        raise AudioReadError(f"audio file is truncated: {path}: {wav_problem}", "re-create or re-download it")
    try:
        if path.suffix.lower() in _RAW_FORMATS:
            data, sr, expected = _read_av(path)
        else:
            data, sr, expected = _read_soundfile(path)
    except AudioReadError:
        raise
    except Exception as sf_exc:
        try:
            data, sr, expected = _read_av(path)
        except AudioReadError:
            raise
        except Exception as av_exc:
            raise AudioReadError(
                f"cannot decode {path}: {_one_line(sf_exc)}; FFmpeg: {_one_line(av_exc)}",
                "the file is truncated or in an unsupported format",
            ) from av_exc
    if data.size == 0:
        raise AudioReadError(f"audio file has no samples: {path}", "re-create or re-download it")
    if expected and data.size < expected - max(
        _TRUNCATION_SLACK_SAMPLES, _TRUNCATION_SLACK_FRACTION * expected
    ):
        raise AudioReadError(
            f"audio file is truncated: {path}: decoded {data.size} of the {expected} samples its header declares",
            "re-create or re-download it",
        )
    if not np.isfinite(data).all():
        raise AudioReadError(f"audio file contains NaN or infinite samples: {path}", "re-create it")
    return data.astype(np.float32, copy=False), int(sr)


def probe_duration(path: str | Path) -> float | None:
    """The duration in seconds from the file's header, without decoding the audio; None if it can't be read.

    Suites call this for every item when they list them, so it must stay cheap: G.722 from the file size,
    WAV/FLAC/MP3 from the header (libsndfile), an MP3 without a length header from its frames' durations
    (demuxed, not decoded), anything else from FFmpeg's container header.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size == 0:
        return None
    if path.suffix.lower() == ".g722":
        return size / _G722_BYTES_PER_SECOND
    try:
        info = sf.info(str(path))
        if info.format in ("MP3", "MPEG") and not _mp3_declares_length(path):
            return _demuxed_duration(path)  # the header-based length would be a guess
        if info.frames > 0 and info.samplerate > 0:
            return info.frames / info.samplerate
    except Exception:  # not a libsndfile format: ask FFmpeg
        pass
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000  # av.time_base: microseconds
    except Exception:
        return None
    return None


def _demuxed_duration(path: Path) -> float | None:
    """Sum of the packet durations, read without decoding (exact for MP3 frames, and cheap)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            ticks = sum(packet.duration or 0 for packet in container.demux(stream))
            return float(ticks * stream.time_base) if ticks else None
    except Exception:
        return None


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _read_soundfile(path: Path) -> tuple[np.ndarray, int, int | None]:
    """Decode with libsndfile; also return the sample count the header declares (checked for truncation)."""
    with sf.SoundFile(str(path)) as f:
        # WAV lengths are checked from the RIFF header in _wav_truncation: libsndfile shortens them silently.
        expected = f.frames if f.format not in ("WAV", "WAVEX") else None
        if f.format in ("MP3", "MPEG") and not _mp3_declares_length(path):
            expected = None  # without a Xing/Info/VBRI header an MP3's length is a guess from its size
        data = f.read(dtype="float32", always_2d=True)
        sr = f.samplerate
    return data.mean(axis=1), sr, expected


def _read_av(path: Path) -> tuple[np.ndarray, int, int | None]:
    """Decode with FFmpeg (PyAV), downmixing to mono float at the file's own rate."""
    import av

    fmt = _RAW_FORMATS.get(path.suffix.lower())
    with av.open(str(path), format=fmt) as container:
        stream = container.streams.audio[0]
        sr = stream.codec_context.sample_rate or stream.rate
        expected = None
        exact_length = container.format.name != "mp3" or _mp3_declares_length(path)
        if fmt is None and exact_length and stream.duration and stream.time_base:
            expected = int(stream.duration * stream.time_base * sr)
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=sr)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray()[0])
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray()[0])
    if not chunks:
        raise AudioReadError(f"no audio frames decoded from {path}", "the file is truncated or not audio")
    return np.concatenate(chunks).astype(np.float32), int(sr), expected


def _mp3_declares_length(path: Path) -> bool:
    """Whether an MP3 states its exact length (a Xing, Info or VBRI header in its first frame).

    Without one, decoders estimate the length from the file size and the first frame's bitrate, which for a
    variable-bitrate file can be off by 2x: comparing the decode with that estimate would call good files
    truncated. (So a truncated MP3 without such a header decodes as the part that is there.)
    """
    try:
        with path.open("rb") as f:
            head = f.read(10)
            start = 0
            if head[:3] == b"ID3" and len(head) == 10:  # skip an ID3v2 tag: its size is 4 x 7-bit bytes
                start = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
                start += 10 if head[5] & 0x10 else 0  # footer present
            f.seek(start)
            first_frame = f.read(4096)
    except OSError:
        return False
    return any(tag in first_frame for tag in (b"Xing", b"Info", b"VBRI"))


def _wav_truncation(path: Path) -> str | None:
    """For a RIFF/WAVE file, why it is truncated (data chunk shorter than declared), else None.

    A size of 0 or 0xFFFFFFFF is what streaming writers put before they know the length: not truncation.
    """
    try:
        with path.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = path.stat().st_size
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return "no data chunk before the end of the file"
                cid, clen = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"data":
                    available = size - f.tell()
                    if clen in (0, 0xFFFFFFFF) or clen <= available:
                        return None
                    return f"data chunk declares {clen} bytes but only {available} are present"
                f.seek(clen + (clen & 1), 1)  # chunks are padded to an even length
    except OSError as exc:
        return _one_line(exc)


def resample(wav: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Resample along the last axis with the project's one resampler."""
    if orig_sr == new_sr:
        return wav
    return AF.resample(
        wav, orig_sr, new_sr, lowpass_filter_width=6, rolloff=0.99, resampling_method="sinc_interp_hann"
    )


def load_tensor(path: str | Path, sample_rate: int) -> torch.Tensor:
    """Read a file as a [1, 1, T] float tensor at `sample_rate`."""
    data, sr = load_audio(path)
    wav = torch.from_numpy(data)[None, None]
    return resample(wav, sr, sample_rate)


def write_wav(path: str | Path, wav: np.ndarray | torch.Tensor, sample_rate: int) -> None:
    """Write mono float audio as 16-bit PCM WAV, atomically (a crash never leaves a half-written file)."""
    write_audio(path, wav, sample_rate, "WAV")


def write_audio(path: str | Path, wav: np.ndarray | torch.Tensor, sample_rate: int, fmt: str) -> None:
    """Write mono float audio, clipped to [-1, 1], as 16-bit PCM in `fmt` (a soundfile format: WAV, FLAC),
    atomically: written beside the target, then renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().numpy()
    data = np.asarray(wav, dtype=np.float32).reshape(-1)
    tmp = path.with_suffix(path.suffix + ".tmp")
    sf.write(str(tmp), np.clip(data, -1.0, 1.0), sample_rate, subtype="PCM_16", format=fmt)
    tmp.replace(path)

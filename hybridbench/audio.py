"""Reading audio files and resampling, the same way everywhere.

Files are read with soundfile (WAV, FLAC, OGG, MP3 where libsndfile supports it) and fall back to PyAV (FFmpeg)
for everything else (MP3, G.722, M4A ...). Audio becomes mono float32 by averaging channels. Resampling uses
torchaudio's band-limited sinc interpolation with a Hann window (`RESAMPLER`), named in every run's provenance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from hybridbench.errors import AudioReadError

RESAMPLER = "torchaudio.functional.resample(sinc_interp_hann, lowpass_filter_width=6, rolloff=0.99)"

# FFmpeg needs to be told the container of raw G.722 files: they have no header.
_RAW_FORMATS = {".g722": "g722"}


def load_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file as mono float32 in [-1, 1] and its sample rate.

    Raises AudioReadError with the file name and reason for a missing, empty or undecodable file.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"audio file not found: {path}", "check the path or re-prepare the suite")
    if path.stat().st_size == 0:
        raise AudioReadError(f"audio file is empty (0 bytes): {path}", "re-create or re-download it")
    try:
        data, sr = _read_soundfile(path) if path.suffix.lower() not in _RAW_FORMATS else _read_av(path)
    except AudioReadError:
        raise
    except Exception as sf_exc:
        try:
            data, sr = _read_av(path)
        except Exception as av_exc:
            raise AudioReadError(
                f"cannot decode {path}: {type(sf_exc).__name__}: {sf_exc}; FFmpeg: {av_exc}",
                "the file is truncated or in an unsupported format",
            ) from av_exc
    if data.size == 0:
        raise AudioReadError(f"audio file has no samples: {path}", "re-create or re-download it")
    if not np.isfinite(data).all():
        raise AudioReadError(f"audio file contains NaN or infinite samples: {path}", "re-create it")
    return data.astype(np.float32, copy=False), int(sr)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), sr


def _read_av(path: Path) -> tuple[np.ndarray, int]:
    import av

    fmt = _RAW_FORMATS.get(path.suffix.lower())
    with av.open(str(path), format=fmt) as container:
        stream = container.streams.audio[0]
        sr = stream.codec_context.sample_rate or stream.rate
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=sr)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray()[0])
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray()[0])
    if not chunks:
        raise AudioReadError(f"no audio frames decoded from {path}", "the file is truncated or not audio")
    return np.concatenate(chunks).astype(np.float32), int(sr)


def resample(wav: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Resample along the last axis with the project's one resampler."""
    if orig_sr == new_sr:
        return wav
    return AF.resample(wav, orig_sr, new_sr, lowpass_filter_width=6, rolloff=0.99, resampling_method="sinc_interp_hann")


def load_tensor(path: str | Path, sample_rate: int) -> torch.Tensor:
    """Read a file as a [1, 1, T] float tensor at `sample_rate`."""
    data, sr = load_audio(path)
    wav = torch.from_numpy(data)[None, None]
    return resample(wav, sr, sample_rate)


def write_wav(path: str | Path, wav: np.ndarray | torch.Tensor, sample_rate: int) -> None:
    """Write mono float audio as 16-bit PCM WAV, atomically (a crash never leaves a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().numpy()
    data = np.asarray(wav, dtype=np.float32).reshape(-1)
    tmp = path.with_suffix(path.suffix + ".tmp")
    sf.write(str(tmp), np.clip(data, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    tmp.replace(path)

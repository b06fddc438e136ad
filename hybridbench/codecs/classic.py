"""Classic speech codecs through PyAV's bundled FFmpeg: reference rows that need no training.

Opus, AMR-NB and G.722 place a neural tokenizer against codecs in daily use at the same bits per second.
Each is registered as a codec whose depths are its bitrate operating points, encoded and decoded in memory
(no files) by the encoders FFmpeg really ships here; a missing encoder makes the codec unavailable with the
reason, it never breaks `import hybridbench` (PyAV itself is imported only when a codec is used).

How operating points become depths (the contract: depth k decodes `codes[:, :k]`):

* G.722 (`g722`) is an embedded coder, a true residual stack. Each 8-bit codeword per 8 kHz sub-band sample
  holds 2 high-band bits and 6 low-band bits; the encoder adapts its predictors from the 4 most significant
  low-band bits only, so a decoder may drop the 1 or 2 least significant bits (ITU-T G.722 modes 2 and 3, 56
  and 48 kbit/s) and stay in step. Row 1 holds the 6-bit core, rows 2 and 3 one refinement bit each: sizes
  (64, 2, 2) at 8000 Hz, and the contract's derived bitrate is the real one: 48, 56, 64 kbit/s.

* Opus (`opus`) and AMR-NB (`amr-nb`) are not layered: the 8 kbit/s Opus bitstream does not contain the
  6 kbit/s one. They are simulcast: the item is encoded once per operating point, and row k holds the whole
  bitstream of operating point k, so decoding `codes[:, :k]` reads only row k (rows 1..k-1 are ignored, rows
  after k are never passed). The bitrate at depth k is therefore row k's rate alone, not the sum of rows 1..k
  that the base contract derives for a residual stack: these adapters declare their per-depth rates through
  the contract's `depth_kind = OPERATING_POINTS` and `depth_bitrates()`.

  A bitstream is cut into fixed-width integer symbols so that it fits `[B, Q, F]`: every operating point
  spends a constant number of bits per codec frame (Opus in hard CBR, AMR by definition), written as
  `symbols_per_frame` symbols of `ceil(bits / symbols_per_frame)` bits, most significant bit first. The
  codebook size of row k is `2 ** width` and `frame_rate` is the symbol rate. For Opus (20 symbols per 20 ms
  packet, 1000 symbols/s) the widths are exact, so frame_rate * log2(size) is the row's rate. AMR's frames
  (95..244 bits) do not all divide by 4; the at most 2 spare bits of a frame's last symbol are zero, ignored
  by the decoder (a test changes them and sees no change) and not counted.

What the reported bitrate counts (bits per second of audio encoded, measured as payload bytes * 8 / seconds):

* Opus: whole Opus packets (the 1-byte TOC included, CBR padding included); no Ogg/RTP encapsulation.
  6/8/12/16/24 kbit/s, application `voip`, 20 ms frames, 16 kHz input (SILK at low rates, up to wideband).
* AMR-NB: the speech bits of each 20 ms frame as 3GPP TS 26.101 defines them (95 bits at 4.75 kbit/s ... 244
  at 12.2). Excluded: the storage format's 1-byte frame header (mode and quality flag: constant here, rebuilt
  by the decoder) and the padding to whole bytes. All eight modes, 8 kHz input, DTX off.
* G.722: every codeword bit (8, 7 or 6 bits per 8 kHz sub-band sample).

Delay: each codec's decoded output lags its input by a fixed number of samples (look-ahead, filter banks).
`delay` drops them so the output lines up with the input and PESQ/STOI score the coding, not a shift. They
were measured here as the cross-correlation peak (parabolic interpolation) between input and decoded output
on four synthetic-en items at several rates: Opus 101.9-103.1 samples at 16 kHz (the encoder declares a
pre-skip of 104), AMR-NB 37.9-38.8 at 8 kHz (FFmpeg's wrapper declares 50), G.722 22 (declared 22). The
input is zero-padded by `delay` samples plus up to one frame, so the last input sample is still coded; that
padding is coded and counted like any other audio. Opus decodes at 48 kHz and is resampled to 16 kHz with
the project's resampler.

Timing: the runner encodes once at full depth, so a simulcast codec's encode time covers every operating
point (5 Opus or 8 AMR-NB encodes); one operating point alone costs about that time divided by the number of
depths. Decode time is per depth, as for any codec.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from hybridbench.audio import resample
from hybridbench.codecs._support import installed
from hybridbench.codecs.base import Codec, CodecInfo, DepthKind, WeightsStatus
from hybridbench.errors import HybridbenchError

_FFMPEG_LICENSE = "n/a (no weights; FFmpeg {lib} as bundled in the PyAV wheel)"


@functools.cache
def _ffmpeg_has(name: str, mode: str) -> bool:
    """Whether PyAV's FFmpeg has the encoder (mode "w") or decoder (mode "r") `name`."""
    if not installed("av"):
        return False
    import av

    try:
        av.codec.Codec(name, mode)
    except Exception:  # PyAV raises UnknownCodecError (a ValueError) for a codec its FFmpeg was built without
        return False
    return True


def _pcm16(wav: torch.Tensor) -> np.ndarray:
    """[T] float in [-1, 1] -> [T] int16: every codec here takes 16-bit PCM, as a telephone line would."""
    return np.round(wav.detach().float().cpu().clamp(-1.0, 1.0).numpy() * 32767).astype(np.int16)


def _frames_needed(length: int, delay: int, frame: int) -> int:
    """Codec frames to code `length` samples and still have `length` left after dropping `delay`."""
    return max(1, math.ceil((length + delay) / frame))


def _encode_packets(
    encoder: str, sample_rate: int, pcm: np.ndarray, bit_rate: int, options: dict[str, str]
) -> tuple[list[bytes], int]:
    """int16 [N] (N a whole number of frames) -> the encoder's packets, and its frame size in samples."""
    import av

    ctx = av.CodecContext.create(encoder, "w")
    ctx.sample_rate = sample_rate
    ctx.layout = "mono"
    ctx.format = "s16"
    ctx.bit_rate = bit_rate
    ctx.options = dict(options)
    ctx.open()
    frame = ctx.frame_size
    if pcm.size % frame:
        raise HybridbenchError(
            f"{encoder}: {pcm.size} samples is not a whole number of {frame}-sample frames"
        )
    packets: list[bytes] = []
    for start in range(0, pcm.size, frame):
        chunk = av.AudioFrame.from_ndarray(pcm[None, start : start + frame], format="s16", layout="mono")
        chunk.sample_rate = sample_rate
        chunk.pts = start
        packets.extend(bytes(p) for p in ctx.encode(chunk))
    packets.extend(bytes(p) for p in ctx.encode(None))  # flush: look-ahead the encoder still holds
    return packets, frame


def _decode_packets(
    decoder: str, sample_rate: int, packets: list[bytes], options: dict[str, str]
) -> np.ndarray:
    """Packets -> float64 [N] at `sample_rate` (decoders that insist on another rate are resampled)."""
    import av

    ctx = av.CodecContext.create(decoder, "r")
    ctx.sample_rate = sample_rate
    ctx.layout = "mono"
    ctx.options = dict(options)
    chunks: list[np.ndarray] = []
    rate = sample_rate
    for data in [*packets, None]:
        for frame in ctx.decode(av.Packet(data) if data is not None else None):
            rate = frame.sample_rate
            samples = frame.to_ndarray().reshape(-1).astype(np.float64)
            chunks.append(samples / 32768.0 if frame.format.name.startswith("s16") else samples)
    out = np.concatenate(chunks) if chunks else np.zeros(0)
    if rate != sample_rate:  # libopus always decodes at 48 kHz
        out = resample(torch.from_numpy(out)[None, None], rate, sample_rate)[0, 0].numpy()
    return out


class _FFmpegCodec(Codec):
    """What the classic codecs share: availability from PyAV's FFmpeg, no weights, per-item coding."""

    encoder: ClassVar[str]  # FFmpeg encoder name
    decoder: ClassVar[str]  # FFmpeg decoder name
    frame_samples: ClassVar[int]  # samples per codec frame at `sample_rate`
    delay: ClassVar[int]  # measured output delay in samples at `sample_rate` (module docstring)
    causal = True

    @classmethod
    def _missing(cls) -> str | None:
        if not installed("av"):
            return "PyAV is not installed"
        wanted = [(cls.encoder, "w", "encoder"), (cls.decoder, "r", "decoder")]
        lacking = [f"{kind} {codec!r}" for codec, mode, kind in wanted if not _ffmpeg_has(codec, mode)]
        return f"PyAV's FFmpeg has no {' or '.join(lacking)}" if lacking else None

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        missing = cls._missing()
        if missing:
            return WeightsStatus(False, None, f"{missing}: install a PyAV wheel whose FFmpeg includes it")
        return WeightsStatus(True, None, "no weights needed")

    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> _FFmpegCodec:
        missing = cls._missing()
        if missing:
            raise HybridbenchError(
                f"{cls.name} is unavailable: {missing}", "pip install av (a wheel with FFmpeg)"
            )
        return cls(device=device)

    def _align(self, decoded: np.ndarray) -> torch.Tensor:
        """float64 [N] -> float32 [N - delay] with the codec's delay removed."""
        return torch.from_numpy(decoded[self.delay :].astype(np.float32))


# ---- simulcast codecs (Opus, AMR-NB): depth k = operating point k ------------------------------------------


@dataclass(frozen=True)
class OperatingPoint:
    """One bitrate of a simulcast codec: what the encoder is asked for and what each frame carries."""

    label: str
    bit_rate: int  # the encoder's `bit_rate` setting (bit/s)
    bits_per_frame: int  # payload bits of every frame (see `_payload_bits` for what counts)
    options: tuple[tuple[str, str], ...] = ()


class _SimulcastCodec(_FFmpegCodec):
    """Row k of the codes is operating point k's whole bitstream, cut into `symbols_per_frame` symbols a frame."""

    depth_kind = DepthKind.OPERATING_POINTS
    operating_points: ClassVar[tuple[OperatingPoint, ...]]
    symbols_per_frame: ClassVar[int]
    payload_note: ClassVar[str]  # what the bitrate counts, stored with every run

    @classmethod
    def widths(cls) -> tuple[int, ...]:
        """Bits per symbol of each row."""
        return tuple(math.ceil(op.bits_per_frame / cls.symbols_per_frame) for op in cls.operating_points)

    @classmethod
    def frames_per_second(cls) -> float:
        return cls.sample_rate / cls.frame_samples

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        base = super().describe(weights)
        extra: dict[str, Any] = {
            "layering": "simulcast: depth k decodes row k alone (operating point k)",
            "operating_points": [op.label for op in cls.operating_points],
            "bits_per_frame": [op.bits_per_frame for op in cls.operating_points],
            "frame_ms": 1000 * cls.frame_samples / cls.sample_rate,
            "delay_samples": cls.delay,
            "payload": cls.payload_note,
            "encode_time_covers": "every operating point (one encode per depth)",
            "encoder": cls.encoder,
            "decoder": cls.decoder,
        }
        return dataclasses.replace(base, extra=extra)

    @classmethod
    def depth_bitrates(cls) -> tuple[float, ...]:
        # A simulcast depth reads only its own row, so its rate is that operating point's.
        return tuple(op.bits_per_frame * cls.frames_per_second() for op in cls.operating_points)

    # Subclasses say which bits of a packet are payload and how to rebuild the packet from them.
    def _payload_bits(self, packet: bytes, op: OperatingPoint) -> np.ndarray:
        """packet -> uint8 [bits_per_frame] of 0/1; raises when the encoder broke the constant frame size."""
        if len(packet) * 8 != op.bits_per_frame:
            raise HybridbenchError(
                f"{self.name} {op.label}: a {len(packet)}-byte packet, expected constant size"
            )
        return np.unpackbits(np.frombuffer(packet, dtype=np.uint8))

    def _packet(self, bits: np.ndarray, op: OperatingPoint) -> bytes:
        return np.packbits(bits).tobytes()

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] float at `sample_rate` -> codes [B, Q, F] int64, Q = operating points, F = symbols."""
        self.check_input(wav)
        n_frames = _frames_needed(wav.shape[-1], self.delay, self.frame_samples)
        return torch.stack([self._encode_one(wav[b, 0], n_frames) for b in range(wav.shape[0])]).to(
            self.device
        )

    def _encode_one(self, wav: torch.Tensor, n_frames: int) -> torch.Tensor:
        pcm = np.zeros(n_frames * self.frame_samples, dtype=np.int16)
        pcm[: wav.shape[-1]] = _pcm16(wav)
        rows = []
        for op, width in zip(self.operating_points, self.widths(), strict=True):
            packets, frame = _encode_packets(
                self.encoder, self.sample_rate, pcm, op.bit_rate, dict(op.options)
            )
            if frame != self.frame_samples or len(packets) < n_frames:
                raise HybridbenchError(
                    f"{self.name} {op.label}: {len(packets)} packets of {frame} samples for {n_frames} frames"
                )
            # Packets past n_frames code only the flushed look-ahead of the zero padding: not needed.
            bits = np.stack([self._payload_bits(p, op) for p in packets[:n_frames]])  # [n_frames, bits]
            spare = self.symbols_per_frame * width - op.bits_per_frame
            bits = np.pad(bits, ((0, 0), (0, spare))).reshape(-1, width).astype(np.int64)  # [F, width]
            rows.append(bits @ (np.int64(1) << np.arange(width - 1, -1, -1, dtype=np.int64)))
        return torch.from_numpy(np.stack(rows))  # [Q, F]

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, T'], from row k alone (operating point k)."""
        k = codes.shape[1]
        op, width = self.operating_points[k - 1], self.widths()[k - 1]
        if codes.shape[-1] % self.symbols_per_frame:
            raise HybridbenchError(
                f"{self.name}: {codes.shape[-1]} symbols is not a whole number of frames",
                f"decode codes from encode(): {self.symbols_per_frame} symbols per frame",
            )
        outs = []
        for row in codes[:, k - 1].detach().cpu().numpy().astype(np.int64):  # [F]
            bits = ((row[:, None] >> np.arange(width - 1, -1, -1, dtype=np.int64)) & 1).astype(np.uint8)
            frames = bits.reshape(-1, self.symbols_per_frame * width)[:, : op.bits_per_frame]
            packets = [self._packet(f, op) for f in frames]
            outs.append(self._align(_decode_packets(self.decoder, self.sample_rate, packets, {})))
        return torch.stack(outs)[:, None].to(self.device)


_OPUS_RATES_KBPS = (6, 8, 12, 16, 24)
_OPUS_FRAME_MS = 20
_OPUS_SYMBOLS = 20  # per packet: 1 ms each, so every whole-kbit/s rate has whole-bit symbols
_OPUS_OPTIONS = (("application", "voip"), ("vbr", "off"), ("frame_duration", str(_OPUS_FRAME_MS)))
# Hard CBR: every packet is exactly rate * 20 ms bits (checked on every packet at encode time).
_OPUS_POINTS = tuple(
    OperatingPoint(f"{r} kbps", r * 1000, r * _OPUS_FRAME_MS, _OPUS_OPTIONS) for r in _OPUS_RATES_KBPS
)


class Opus(_SimulcastCodec):
    name = "opus"
    sample_rate = 16000
    frame_samples = 16000 * _OPUS_FRAME_MS // 1000
    symbols_per_frame = _OPUS_SYMBOLS
    frame_rate = 1000.0 * _OPUS_SYMBOLS / _OPUS_FRAME_MS  # symbols per second
    encoder = "libopus"
    decoder = "libopus"
    delay = 102  # measured (module docstring); the encoder's declared pre-skip is 104
    operating_points = _OPUS_POINTS
    codebook_sizes = tuple(2 ** math.ceil(op.bits_per_frame / _OPUS_SYMBOLS) for op in _OPUS_POINTS)
    weights_license = _FFMPEG_LICENSE.format(lib="libopus (BSD)")
    source = "https://opus-codec.org (libopus via FFmpeg/PyAV)"
    description = "reference: Opus 6/8/12/16/24 kbit/s CBR, VoIP mode, 20 ms, 16 kHz (depth = bitrate)"
    payload_note = "Opus packets incl. TOC byte and CBR padding; no Ogg/RTP framing"


# 3GPP TS 26.101 Table 1a: speech bits per 20 ms frame of each AMR-NB mode (mode index = position).
_AMR_NB_BITS = (95, 103, 118, 134, 148, 159, 204, 244)
_AMR_NB_RATES = (4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200)
_AMR_NB_SYMBOLS = 4  # per 20 ms frame: the widest mode (244 bits) then fits 61-bit symbols in int64


class AmrNb(_SimulcastCodec):
    name = "amr-nb"
    sample_rate = 8000
    frame_samples = 160  # 20 ms
    symbols_per_frame = _AMR_NB_SYMBOLS
    frame_rate = 50.0 * _AMR_NB_SYMBOLS  # symbols per second (50 frames/s)
    encoder = "libopencore_amrnb"
    decoder = "amr_nb"
    delay = 38  # measured (module docstring)
    operating_points = tuple(
        OperatingPoint(f"{r / 1000:g} kbps (MR{r // 100})", r, bits, (("dtx", "0"),))
        for r, bits in zip(_AMR_NB_RATES, _AMR_NB_BITS, strict=True)
    )
    codebook_sizes = tuple(
        2 ** math.ceil(bits / _AMR_NB_SYMBOLS) for bits in _AMR_NB_BITS
    )  # symbol containers
    weights_license = _FFMPEG_LICENSE.format(lib="opencore-amr (Apache-2.0)")
    source = "3GPP TS 26.071 AMR-NB (opencore-amr encoder, FFmpeg decoder, via PyAV)"
    description = "reference: AMR-NB, all 8 modes 4.75-12.2 kbit/s, 8 kHz telephone band (depth = mode)"
    payload_note = "3GPP TS 26.101 speech bits only; storage-format frame header and byte padding excluded"

    def _payload_bits(self, packet: bytes, op: OperatingPoint) -> np.ndarray:
        # Storage format (RFC 4867 s5): 1 header byte (F=0, FT=mode, Q=1, P=0), then the speech bits padded to
        # whole bytes. The header is constant for a mode without DTX, so only the speech bits are kept.
        mode = _AMR_NB_BITS.index(op.bits_per_frame)
        if packet[0] != self._header(mode) or len(packet) != 1 + math.ceil(op.bits_per_frame / 8):
            raise HybridbenchError(
                f"{self.name} {op.label}: unexpected frame (header {packet[0]:#04x}, {len(packet)} bytes)",
                "the encoder changed mode or emitted a DTX frame",
            )
        bits = np.unpackbits(np.frombuffer(packet[1:], dtype=np.uint8))
        if bits[op.bits_per_frame :].any():
            raise HybridbenchError(f"{self.name} {op.label}: nonzero padding bits; they would be dropped")
        return bits[: op.bits_per_frame]

    def _packet(self, bits: np.ndarray, op: OperatingPoint) -> bytes:
        mode = _AMR_NB_BITS.index(op.bits_per_frame)
        return bytes([self._header(mode)]) + np.packbits(bits).tobytes()

    @staticmethod
    def _header(mode: int) -> int:
        return (mode << 3) | 0x04  # frame type = mode, quality bit set


# ---- embedded codec (G.722): depth k = the first k bit planes ---------------------------------------------


_G722_ENCODER_FRAME = 320  # samples per frame FFmpeg's G.722 encoder asks for (20 ms)


class G722(_FFmpegCodec):
    """G.722 at 64/56/48 kbit/s as a residual stack of bit planes (module docstring).

    codes [B, 3, F], F = sub-band samples (8000/s): row 1 = codeword >> 2 (2 high-band + 4 low-band bits,
    the core every mode shares), row 2 = bit 1 of the codeword, row 3 = bit 0.
    """

    name = "g722"
    sample_rate = 16000
    frame_rate = 8000.0
    codebook_sizes = (64, 2, 2)
    frame_samples = 2  # one codeword per pair of 16 kHz samples
    encoder = "g722"
    decoder = "g722"
    delay = 22  # QMF analysis + synthesis; measured and equal to what the encoder declares
    weights_license = _FFMPEG_LICENSE.format(lib="g722 (LGPL)")
    source = "ITU-T G.722 (FFmpeg's encoder and decoder, via PyAV)"
    description = "reference: G.722 wideband ADPCM, 48/56/64 kbit/s embedded modes (depth = bit planes)"

    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        base = super().describe(weights)
        extra = {
            "layering": "embedded: depth k decodes rows 1..k (G.722 modes 3, 2, 1)",
            "delay_samples": cls.delay,
            "payload": "every codeword bit; no framing",
            "encoder": cls.encoder,
            "decoder": cls.decoder,
        }
        return dataclasses.replace(base, extra=extra)

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] float at 16 kHz -> codes [B, 3, F] int64 at 8000 codewords/s."""
        self.check_input(wav)
        n_codewords = _frames_needed(wav.shape[-1], self.delay, self.frame_samples)
        rows = []
        for b in range(wav.shape[0]):
            # FFmpeg's G.722 encoder takes whole frames; codewords past n_codewords code only the zero padding.
            pcm = np.zeros(
                math.ceil(2 * n_codewords / _G722_ENCODER_FRAME) * _G722_ENCODER_FRAME, dtype=np.int16
            )
            pcm[: wav.shape[-1]] = _pcm16(wav[b, 0])
            packets, _ = _encode_packets(self.encoder, self.sample_rate, pcm, 64000, {})
            words = np.frombuffer(b"".join(packets), dtype=np.uint8)[:n_codewords].astype(np.int64)
            rows.append(np.stack([words >> 2, (words >> 1) & 1, words & 1]))
        return torch.from_numpy(np.stack(rows)).to(self.device)

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, T'] in G.722 mode 4 - k (6 + k - 1 bits per codeword)."""
        k = codes.shape[1]
        outs = []
        for rows in codes.detach().cpu().numpy().astype(np.int64):  # [k, F]
            words = rows[0] << 2
            for plane in range(1, k):  # the decoder skips the bits it is told are absent: leave them zero
                words |= (rows[plane] & 1) << (2 - plane)
            packet = words.astype(np.uint8).tobytes()
            decoded = _decode_packets(
                self.decoder, self.sample_rate, [packet], {"bits_per_codeword": str(5 + k)}
            )
            outs.append(self._align(decoded))
        return torch.stack(outs)[:, None].to(self.device)

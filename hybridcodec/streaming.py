"""Chunked encoding and decoding of a causal HybridCodec: streaming codes equal offline codes.

    enc = StreamingEncoder(model)            dec = StreamingDecoder(model, depth=1)
    for chunk in mic:                        for codes in incoming:
        send(enc.push(chunk))                    play(dec.push(codes))
    send(enc.flush())

Every layer of the encoder, the ConvNeXt streams and the decoder only looks back (`hybridcodec.nn.layers`), so
a stream needs no look-ahead: it keeps, per layer, the inputs that its next outputs still need, and emits each
output as soon as its inputs are complete. Each offline layer type has a small stateful counterpart here, built
on the offline layer's own parameters (no copies of the weights):

| offline layer | streaming state |
|---|---|
| `CausalConv1d` (any kernel, stride, dilation) | the input samples not yet consumed by a strided step, and the last `dilation * (kernel - 1)` it still needs; zeros at the start, as the offline left padding |
| `CausalConvTranspose1d` (kernel 2 x stride) | the overlap: the last frame's output through the kernel's second half, added to the next frame's |
| ConvNeXt block (causal depthwise k=7 conv) | the last 6 input frames |
| `ResidualUnit`, Snake, 1x1 conv, Tanh, the quantizers | none: they act on each sample or frame alone |

Chunk sizes. `StreamingEncoder.push` takes any number of samples (also fewer than a frame, also uneven); it
returns the codes of the frames completed so far, so frame j comes out with the push that brings its last
sample. `flush()` zero-pads the last partial frame, as `HybridCodec.encode` pads the input's end, and returns
its codes. `StreamingDecoder.push` takes any number of frames, one included, and returns exactly
`frames * hop` samples: the decoder has no look-ahead to wait for (the transposed convs' look-ahead samples
are the ones the offline model trims), so it needs no flush.

Latency. Algorithmic: one frame (hop / sample_rate: 40 ms at 25 Hz), since a frame's code needs all of its
samples, plus zero look-ahead; a chunk of N frames buffers N frames. Compute: `benchmarks/hybridcodec_streaming.py`.

Exactness. Streaming runs the same convolutions over the same inputs, only on shorter spans, so outputs differ
from the offline ones by float rounding alone (~1e-7 relative in fp32). The codes are argmins of codebook
distances and come out identical unless two codewords are within that rounding of each other (the tests
check torch.equal). A session reads the weight-normalised weights once when it is made: make a new session
after changing the weights.

The `dualcodec` variant cannot stream: its encoder runs the teacher (an attention encoder over the whole
input) at inference. Its decoder is causal and could stream, but is not offered here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

import torch
import torch.nn.functional as F
from dac.nn.layers import Snake1d
from torch import nn
from torch.nn.utils.weight_norm import WeightNorm

from hybridcodec.errors import HybridcodecError
from hybridcodec.model import HybridCodec
from hybridcodec.nn.convnext import ConvNeXtStack
from hybridcodec.nn.dualcodec_layers import ConvNeXtBlock
from hybridcodec.nn.layers import CausalConv1d, CausalConvTranspose1d, ResidualUnit

STREAMABLE_VARIANTS = ("hybrid", "dac", "dac-distill")
LOOKAHEAD_SAMPLES = 0  # every layer is causal and emits an output once its inputs are complete


def algorithmic_latency_s(model: HybridCodec, *, chunk_frames: int = 1) -> float:
    """Seconds from a sample entering the encoder to the decoder being able to play it, compute aside: the
    chunk (at least one frame, whose code needs all of its samples) plus the look-ahead (none)."""
    c = model.config
    return (chunk_frames * c.hop_length + LOOKAHEAD_SAMPLES) / c.sample_rate


# ---- per-layer streaming counterparts -------------------------------------------------------------------------


class StreamLayer(Protocol):
    """A layer over a stream: each call takes the next chunk [B, C, n] and returns the outputs it completed."""

    def reset(self) -> None:
        """Drop the state: the next call starts a new stream."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


def _weight(conv: nn.Conv1d | nn.ConvTranspose1d) -> torch.Tensor:
    """The conv's effective weight, computed now. Weight-normalised convs (DAC's `WNConv1d`) recompute
    g * v / |v| before every forward; over a whole model that costs as much as a small chunk's compute, so a
    session does it once. Running the layer's own weight-norm hook stores the result on the layer, exactly as a
    forward does, so the session references that tensor rather than holding a second copy of the weights."""
    with torch.no_grad():
        for hook in conv._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm):
                hook(conv, ())
    return conv.weight


class CachedConv:
    """A Conv1d over a stream: [B, C_in, n] -> [B, C_out, m], m = the outputs whose inputs are now complete.

    Keeps the input samples that the next outputs still need: those a strided step has not consumed yet and the
    last `dilation * (kernel - 1)` before them. It starts as `left_pad` zeros, the offline layer's padding, so
    the outputs are the offline ones."""

    def __init__(self, conv: nn.Conv1d, *, left_pad: int):
        if conv.padding != (0,) or conv.padding_mode != "zeros":
            raise HybridcodecError(f"cannot stream {conv}: its padding must be done outside it, on the left")
        self.conv, self.weight, self.left_pad = conv, _weight(conv), left_pad
        self.stride, self.dilation = conv.stride[0], conv.dilation[0]
        self.receptive = self.dilation * (conv.kernel_size[0] - 1) + 1
        self.pending: torch.Tensor | None = None  # [B, C_in, <receptive + stride]

    def reset(self) -> None:
        self.pending = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.pending is None:
            self.pending = x.new_zeros(x.shape[0], x.shape[1], self.left_pad)
        buf = torch.cat([self.pending, x], dim=-1)
        n_out = max(0, (buf.shape[-1] - self.receptive) // self.stride + 1)
        self.pending = buf[..., n_out * self.stride :]
        if n_out == 0:
            return x.new_zeros(x.shape[0], self.conv.out_channels, 0)
        used = buf[..., : (n_out - 1) * self.stride + self.receptive]
        c = self.conv
        return F.conv1d(used, self.weight, c.bias, c.stride, 0, c.dilation, c.groups)


class OverlapAddConvTranspose:
    """`CausalConvTranspose1d` over a stream: [B, C_in, f] -> [B, C_out, f * stride].

    With kernel 2 x stride, input frame j through the kernel's first half gives output block j, and through its
    second half it overlaps block j + 1. The state is that overlap: the last frame's second half, waiting to be
    added to the next chunk's first block (zeros at the start, where the offline layer has no earlier frame).
    Holding it back is not look-ahead: the offline layer adds it to the same block, and trims the final one.

    The frames go through the whole kernel as one matrix product, then the overlap-add. On few frames the CPU
    `conv_transpose1d` takes a slow path (a quarter of a 1-frame `paper` chunk in a profile); the product was
    about 1.5-2x faster there (measured on a busy machine), and it computes no frame twice."""

    def __init__(self, layer: CausalConvTranspose1d):
        conv = layer.conv
        self.stride = stride = conv.stride[0]
        if (conv.kernel_size[0], layer.trim, conv.padding, conv.groups) != (2 * stride, stride, (0,), 1):
            raise HybridcodecError(
                f"cannot stream {conv}: expected kernel 2 x stride, stride trimmed, no padding"
            )
        self.conv = conv
        # [C_in, C_out, 2 * stride] viewed as [C_in, C_out * 2 * stride]: a view of the layer's weight
        self.matrix = _weight(conv).reshape(conv.in_channels, -1)
        self.overlap: torch.Tensor | None = None  # [B, 1, C_out, stride]

    def reset(self) -> None:
        self.overlap = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, frames = x.shape
        c_out, s = self.conv.out_channels, self.stride
        if frames == 0:
            return x.new_zeros(batch, c_out, 0)
        if self.overlap is None:
            self.overlap = x.new_zeros(batch, 1, c_out, s)
        halves = (x.transpose(1, 2) @ self.matrix).view(batch, frames, c_out, 2, s)
        second = torch.cat([self.overlap, halves[..., 1, :]], dim=1)  # [B, frames + 1, C_out, s]
        blocks = halves[..., 0, :] + second[:, :-1]  # block j = frame j's first half + frame j-1's second
        self.overlap = second[:, -1:]
        return blocks.permute(0, 2, 1, 3).reshape(batch, c_out, frames * s) + self.conv.bias[:, None]


class StreamingConvNeXt:
    """A causal ConvNeXt block over a stream: [B, dim, f] -> [B, dim, f]. Only its depthwise conv looks back
    (the block pads kernel - 1 = 6 frames on the left); LayerNorm and the MLP act on each frame alone."""

    def __init__(self, block: ConvNeXtBlock):
        if not block.is_causal or block.adanorm:
            raise HybridcodecError("only causal, unconditioned ConvNeXt blocks stream")
        self.block = block
        self.dwconv = CachedConv(block.dwconv, left_pad=block.dwconv.kernel_size[0] - 1)

    def reset(self) -> None:
        self.dwconv.reset()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        b = self.block
        y = b.pwconv2(b.act(b.pwconv1(b.norm(self.dwconv(x).transpose(1, 2)))))
        if b.gamma is not None:
            y = b.gamma * y
        return x + y.transpose(1, 2)


class Stateless:
    """A layer acting on each sample or frame alone (Snake, Tanh, identity): the offline layer as it is."""

    def __init__(self, layer: nn.Module):
        self.layer = layer

    def reset(self) -> None:
        pass

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class Residual:
    """x + inner(x) over a stream (DAC's `ResidualUnit`); the inner layers keep x's length (stride 1)."""

    def __init__(self, inner: StreamLayer):
        self.inner = inner

    def reset(self) -> None:
        self.inner.reset()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.inner(x)


class Chain:
    """Streaming counterparts of a sequence of layers, applied in order."""

    def __init__(self, layers: list[StreamLayer]):
        self.layers = layers

    def reset(self) -> None:
        for layer in self.layers:
            layer.reset()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def streaming(module: nn.Module) -> StreamLayer:
    """The streaming counterpart of an offline causal layer or stack. An unknown layer type is an error rather
    than a guess: run on chunks as it is, a layer that looks back would silently see zeros at each chunk start."""
    if isinstance(module, CausalConv1d):
        return CachedConv(module.conv, left_pad=module.left_pad)
    if isinstance(module, nn.Conv1d) and module.kernel_size == (1,) and module.stride == (1,):
        return CachedConv(module, left_pad=0)  # a 1x1 conv needs no past; its weight is normalised once
    if isinstance(module, CausalConvTranspose1d):
        return OverlapAddConvTranspose(module)
    if isinstance(module, ConvNeXtBlock):
        return StreamingConvNeXt(module)
    if isinstance(module, ResidualUnit):
        return Residual(Chain([streaming(m) for m in module.block]))
    if isinstance(module, ConvNeXtStack):
        return Chain([streaming(module.proj_in), *map(streaming, module.blocks), streaming(module.proj_out)])
    if isinstance(module, nn.Sequential):
        return Chain([streaming(m) for m in module])
    if isinstance(module, Snake1d | nn.Tanh | nn.Identity):
        return Stateless(module)
    raise HybridcodecError(f"no streaming counterpart for {type(module).__name__}")


# ---- the model ---------------------------------------------------------------------------------------------------


def _check_streamable(model: HybridCodec) -> None:
    variant = model.config.variant
    if variant not in STREAMABLE_VARIANTS:
        raise HybridcodecError(
            f"the {variant!r} variant cannot stream: its encoder runs the teacher, an attention encoder over the "
            "whole input, at inference",
            f"stream one of {', '.join(STREAMABLE_VARIANTS)}, or encode {variant!r} offline",
        )


@contextlib.contextmanager
def _eval(model: nn.Module) -> Iterator[None]:
    """Eval-mode quantizers (all codebooks, no dropout draw) for the call, as `HybridCodec.encode` does."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


class StreamingEncoder:
    """Audio chunks [B, 1, n] (any n) -> codes [B, Q, f] of the f frames the chunk completed.

    The concatenated codes of all pushes and the final `flush()` equal `model.encode` of the concatenated audio.
    The batch size is fixed by the first push."""

    def __init__(self, model: HybridCodec):
        _check_streamable(model)
        self.model = model
        self.hop = model.hop_length
        self.encoder = streaming(model.encoder.block)
        self.semantic_stream = self.acoustic_stream = None
        if model.config.variant == "hybrid":
            self.semantic_stream = streaming(model.semantic_stream)
            self.acoustic_stream = streaming(model.acoustic_stream)
        self.samples = 0  # pushed since the stream began
        # An empty [B, 1, 0] like the pushed audio, so that flush() pads with the stream's batch, dtype and device.
        self.last: torch.Tensor | None = None

    def reset(self) -> None:
        """Start a new stream (the state of the last one is dropped)."""
        for part in (self.encoder, self.semantic_stream, self.acoustic_stream):
            if part is not None:
                part.reset()
        self.samples = 0
        self.last = None

    @torch.inference_mode()
    def push(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, n] -> codes [B, Q, f] int64, f >= 0 frames completed by these samples."""
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise HybridcodecError(f"audio must be [B, 1, n] mono, got shape {tuple(wav.shape)}")
        self.samples += wav.shape[-1]
        self.last = wav[..., :0]
        return self._codes(self.encoder(wav))

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:
        """Codes [B, Q, 0 or 1] of the last partial frame, zero-padded as `model.encode` pads the input's end;
        then a new stream begins. Nothing pushed: [1, Q, 0]."""
        if self.last is None:
            param = next(self.model.parameters())
            self.last = param.new_zeros(1, 1, 0)
        pad = -self.samples % self.hop
        codes = self.push(self.last.new_zeros(*self.last.shape[:2], pad))
        self.reset()
        return codes

    def _codes(self, h: torch.Tensor) -> torch.Tensor:
        """The encoder's latent frames h [B, L, f] -> codes [B, Q, f], as `HybridCodec.forward_codes`."""
        model = self.model
        if h.shape[-1] == 0:
            return torch.zeros(h.shape[0], model.config.num_codebooks, 0, dtype=torch.long, device=h.device)
        with _eval(model):
            if self.semantic_stream is None:
                return model.vq(h).codes
            sem = model.semantic_vq(self.semantic_stream(h))
            ac = model.acoustic_vq(self.acoustic_stream(h - sem.z))
        return torch.cat([sem.codes, ac.codes], dim=1)


class StreamingDecoder:
    """Code chunks [B, k, f] (any f >= 0, k >= depth) -> audio [B, 1, f * hop] from their first `depth` codebooks.

    The concatenated audio of all pushes equals `model.decode` of the concatenated codes within float rounding.
    No flush: each frame's samples come out with the push that brings its codes."""

    def __init__(self, model: HybridCodec, depth: int | None = None):
        _check_streamable(model)
        n = model.config.num_codebooks
        self.depth = n if depth is None else depth
        if not 1 <= self.depth <= n:
            raise HybridcodecError(f"depth must be in 1..{n}, got {depth}")
        self.model = model
        self.decoder = streaming(model.decoder.block)

    def reset(self) -> None:
        """Start a new stream (the state of the last one is dropped)."""
        self.decoder.reset()

    @torch.inference_mode()
    def push(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, f] -> wav [B, 1, f * hop]."""
        if codes.dim() != 3 or codes.shape[1] < self.depth:
            raise HybridcodecError(
                f"codes must be [B, k, f] with k >= depth {self.depth}, got {tuple(codes.shape)}"
            )
        if codes.shape[-1] == 0:
            param = next(self.model.parameters())
            return torch.zeros(codes.shape[0], 1, 0, dtype=param.dtype, device=param.device)
        # Hybrid and DAC latents are sums of codebook vectors, frame by frame: the offline path serves as it is.
        return self.decoder(self.model.latent_from_codes(codes[:, : self.depth]))

"""DualCodec (Amphion, pip `dualcodec` 0.4.2): `dualcodec-12hz` and `dualcodec-25hz`.

Codes are `[B, Q, F]` with row 0 the semantic codebook (16384 entries) and rows 1..Q-1 the acoustic RVQ
(7 x 4096 at 12.5 Hz, 11 x 1024 at 25 Hz); depth k = the semantic codebook plus the first k-1 acoustic ones.

Everything runs through the package's own code: the model is built from its own YAML config and loaded by
`dualcodec.get_model`; the semantic input is computed exactly as `dualcodec.Inference.encode` does it:
resample 24 -> 16 kHz, SeamlessM4TFeatureExtractor per item, Wav2Vec2BertModel `hidden_states[17]` (the output
of transformer block 16 counting from 0, i.e. `layer_idx=15` + 2 in DualCodec's code), normalized with
`w2vbert2_mean_var_stats_emilia.pt` as (x - mean) / sqrt(var), average-pooled from 50 Hz to the codec rate;
fp16 autocast on, as in DualCodec (on the CPU too). Decoding (`decode_from_codes`) needs no w2v-BERT.

Timing: `encode(wav) = encode_from_features(wav, semantic_features(wav))`, so a benchmark can time the w2v-BERT
feature extraction (`semantic_features`) separately from the codec's own encoder, and report both.

Honest facts: `causal` is False. DualCodec's YAML says `is_causal: true`, but that flag only reaches its ConvNeXt
blocks; the w2v-BERT encoder attends over the whole utterance and the DAC-style encoder/decoder use symmetric
padding. The output is 4 samples short of F * hop and the last partial frame is dropped (the w2v-BERT frame count
decides F); `decode(codes, length=T)` pads/trims to the input length.

Batches must hold equal-length items (no padding masks upstream); `hybridbench.codecs.batching` groups items of
different lengths so that batched codes equal one-by-one codes.

Weights: `--weights DIR` with `dualcodec_*.safetensors` and `w2vbert2_mean_var_stats_emilia.pt` (and optionally a
`w2v-bert-2.0/` sub-folder), else the cache filled by `hybridbench weights fetch dualcodec-25hz`.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any, ClassVar

import torch

from hybridbench import weights as W
from hybridbench.codecs import _support
from hybridbench.codecs.base import Codec, CodecInfo, WeightsStatus
from hybridbench.errors import HybridbenchError

PIP = "dualcodec==0.4.2"
W2V_SUBFOLDER = "w2v-bert-2.0"
STATS_FILE = "w2vbert2_mean_var_stats_emilia.pt"
# DualCodec's `_build_semantic_model`: layer_idx = 15, output_idx = layer_idx + 2 = 17 (hidden_states[0] is the
# feature projection's output, so index 17 is the output of the 17th transformer block, "layer 16" from 0).
HIDDEN_STATE_INDEX = 17
W2V_BERT_PARAMETERS = 580_493_120  # Wav2Vec2BertModel(Wav2Vec2BertConfig()), checked by a test


def build_model(config_name: str) -> torch.nn.Module:
    """A random-weight DualCodec built from the package's own YAML config (as `dualcodec.get_model` does)."""
    import importlib.resources

    import hydra
    from hydra import compose, initialize_config_dir

    conf_dir = str(importlib.resources.files("dualcodec") / "conf" / "model")
    with initialize_config_dir(version_base="1.3", config_dir=conf_dir):
        cfg = compose(config_name=config_name, overrides=[])
        return hydra.utils.instantiate(cfg.model)


class _DualCodec(Codec):
    model_id: ClassVar[str]
    config_name: ClassVar[str]
    checkpoint_file: ClassVar[str]
    codec_parameters: ClassVar[int]
    sample_rate = 24000
    causal = False
    needs_ssl_at_inference = True
    ssl_timed_apart = True
    weights_license = "not stated in the dualcodec package (code MIT); see hf.co/amphion/dualcodec"
    source = "pip dualcodec 0.4.2 (Amphion); weights hf://amphion/dualcodec + hf://facebook/w2v-bert-2.0"

    def __init__(
        self,
        model: torch.nn.Module,
        semantic_model: torch.nn.Module,
        feature_extractor: Any,
        mean: torch.Tensor,
        std: torch.Tensor,
        *,
        device: str | torch.device = "cpu",
        autocast: bool = True,
        weights_sha256: str | None = None,
    ):
        super().__init__(device=device)
        self.model = model.to(self.device).eval()
        self.semantic_model = semantic_model.to(self.device).eval()
        self.feature_extractor = feature_extractor
        self.mean = mean.to(self.device)
        self.std = std.to(self.device)
        self.autocast = autocast
        self.precision = "float16 autocast (encode), float32 decode" if autocast else "float32"
        self.weights_sha256 = weights_sha256

    # ---- facts -------------------------------------------------------------------------------------------
    @classmethod
    def describe(cls, weights: str | None = None) -> CodecInfo:
        info = super().describe(weights)
        return CodecInfo(
            **{
                **info.__dict__,
                "parameters": cls.codec_parameters + W2V_BERT_PARAMETERS,
                "extra": {
                    "codec_parameters": cls.codec_parameters,
                    "ssl_parameters": W2V_BERT_PARAMETERS,
                    "ssl_model": "facebook/w2v-bert-2.0, hidden_states[17], runs at encode time only",
                    "semantic_codebooks": 1,
                    "depth": "semantic codebook + (k-1) acoustic codebooks",
                    "autocast": "fp16 autocast during encode, as dualcodec.Inference",
                },
            }
        )

    @classmethod
    def weights_status(cls, weights: str | None = None) -> WeightsStatus:
        status = _support.weights_status(cls.name, "dualcodec", PIP, weights)
        if status.available or weights is None or not Path(weights, W2V_SUBFOLDER, "config.json").is_file():
            return status
        # `--weights DIR` may carry its own w2v-bert-2.0/ sub-folder instead of the cached one.
        ckpt = W.CHECKPOINTS[cls.name]
        if not W.missing_files(ckpt, Path(weights)):
            return WeightsStatus(True, str(weights), "", None)
        return status

    def parameter_count(self) -> int:
        if self.parameters_as_trained is not None:
            return self.parameters_as_trained
        return sum(p.numel() for m in (self.model, self.semantic_model) for p in m.parameters())

    # ---- loading -------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, *, weights: str | None = None, device: str | torch.device = "cpu") -> _DualCodec:
        """Load the checkpoint (through `dualcodec.get_model`), w2v-BERT-2.0 and the normalization statistics."""
        dualcodec = _support.require("dualcodec", PIP, cls.name)
        from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertModel

        located = W.locate(cls.name, weights, codec=cls.name)
        ckpt_dir = located.folder
        if ckpt_dir.is_file():
            raise W.WeightsNotFoundError(
                f"{cls.name}: --weights must be a folder with {cls.checkpoint_file} and {STATS_FILE}",
                "pass the folder",
            )
        w2v_dir = ckpt_dir / W2V_SUBFOLDER
        if not (w2v_dir / "config.json").is_file():
            w2v_dir = W.locate("w2v-bert-2.0", codec=cls.name).folder
        model = dualcodec.get_model(cls.model_id, str(ckpt_dir))  # strict safetensors load, eval mode
        semantic_model = Wav2Vec2BertModel.from_pretrained(str(w2v_dir))
        feature_extractor = SeamlessM4TFeatureExtractor.from_pretrained(str(w2v_dir))
        stats = W.load_state_dict(ckpt_dir / STATS_FILE)  # {"mean": [1024], "var": [1024]}
        codec = cls(
            model,
            semantic_model,
            feature_extractor,
            stats["mean"],
            torch.sqrt(stats["var"]),
            device=device,
            weights_sha256=located.sha256,
        )
        codec.fold_for_inference()
        return codec

    # ---- encode --------------------------------------------------------------------------------------------
    def _fp16(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.float16)

    @torch.no_grad()
    def semantic_features(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] at 24 kHz -> normalized w2v-BERT features [B, 1024, F] at the codec frame rate.

        This is the SSL part of encoding (time it separately for RTF). Items must have equal length.
        """
        import torchaudio

        self.check_input(wav)
        wav = wav.to(self.device)
        audio_16k = torchaudio.functional.resample(wav, 24000, 16000)  # [B, 1, T16]
        feats, masks = [], []
        for i in range(audio_16k.shape[0]):  # per item, as dualcodec.Inference does for B > 1
            inputs = self.feature_extractor(audio_16k[i].cpu(), sampling_rate=16000, return_tensors="pt")
            feats.append(inputs["input_features"][0])  # [T50, 160]
            masks.append(inputs["attention_mask"][0])
        input_features = torch.stack(feats).to(self.device)
        attention_mask = torch.stack(masks).to(self.device)
        factor = self.model.semantic_downsample_factor
        if input_features.shape[1] < factor:  # fewer 50 Hz frames than one codec frame: nothing to encode
            shortest = (400 + (2 * factor - 1) * 160) / 16000  # fbank window 25 ms, hop 10 ms, stride 2
            raise HybridbenchError(
                f"{self.name}: {wav.shape[-1] / self.sample_rate:.3f} s of audio is too short to encode",
                f"DualCodec needs at least {shortest:.3f} s (one {1000 / self.frame_rate:.0f} ms frame of w2v-BERT)",
            )
        with self._fp16():  # DualCodec always autocasts the w2v-BERT pass
            out = self.semantic_model(
                input_features=input_features, attention_mask=attention_mask, output_hidden_states=True
            )
            feat = out.hidden_states[HIDDEN_STATE_INDEX]  # [B, T50, 1024]
            feat = (feat - self.mean) / self.std
            feat = torch.nn.functional.avg_pool1d(feat.transpose(1, 2), factor, factor)  # [B, 1024, F]
        return feat

    @torch.no_grad()
    def encode_from_features(self, wav: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] + semantic_features(wav) [B, 1024, F] -> codes [B, Q, F] int64."""
        self.check_input(wav)
        with self._fp16() if self.autocast else nullcontext():
            semantic, acoustic = self.model.encode(
                wav.to(self.device), num_quantizers=self.num_codebooks, semantic_repr=features
            )
        return torch.cat([semantic, acoustic], dim=1).to(torch.int64)  # [B, 1 + (Q-1), F]

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] float at 24 kHz -> codes [B, Q, F] int64 (row 0 semantic). Equal-length items only."""
        return self.encode_from_features(wav, self.semantic_features(wav))

    # ---- decode --------------------------------------------------------------------------------------------
    @torch.no_grad()
    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, k, F] -> wav [B, 1, F * hop - 4]: semantic row 0 plus k-1 acoustic rows."""
        codes = codes.to(self.device)
        acoustic = codes[:, 1:] if codes.shape[1] > 1 else None
        return self.model.decode_from_codes(codes[:, :1], acoustic).to(torch.float32)


class DualCodec12Hz(_DualCodec):
    name = "dualcodec-12hz"
    model_id = "12hz_v1"
    config_name = "dualcodec_12hz_16384_4096_8vq.yaml"
    checkpoint_file = "dualcodec_12hz_16384_4096.safetensors"
    frame_rate = 12.5  # hop 4*5*6*8*2 = 1920 samples at 24 kHz
    codebook_sizes = (16384,) + (4096,) * 7
    codec_parameters = 84_014_578  # dualcodec 0.4.2 YAML config, checked by a test
    description = "DualCodec 12.5 Hz: w2v-BERT-2.0 semantic RVQ-1 (16384) + 7x4096 acoustic RVQ"


class DualCodec25Hz(_DualCodec):
    name = "dualcodec-25hz"
    model_id = "25hz_v1"
    config_name = "dualcodec_25hz_16384_1024_12vq.yaml"
    checkpoint_file = "dualcodec_25hz_16384_1024.safetensors"
    frame_rate = 25.0  # hop 4*5*6*8 = 960 samples at 24 kHz
    codebook_sizes = (16384,) + (1024,) * 11
    codec_parameters = 102_291_874  # dualcodec 0.4.2 YAML config, checked by a test
    description = "DualCodec 25 Hz: w2v-BERT-2.0 semantic RVQ-1 (16384) + 11x1024 acoustic RVQ"


__all__ = ["DualCodec12Hz", "DualCodec25Hz", "build_model"]

"""Whisper's encoder in PyTorch, built from the weights of an installed CTranslate2 model, to read any layer.

CTranslate2 returns only the encoder's last layer. Its model.bin (format version 6: a spec name, then each
variable as name, shape, dtype code and raw bytes) holds the encoder's weights, which are loaded here into
transformers' `WhisperEncoder`; `hidden_states[k]` is then the output of block k (k = 1..L, before the final
layer norm), and the final output equals CTranslate2's `encode` (tests/hybridcodec/test_whisper_layers.py).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch

from hybridcodec.errors import HybridcodecError

# CTranslate2's DataType codes for the float types an encoder can be stored in.
_DTYPES = {0: np.float32, 4: np.float16}
_BFLOAT16 = 5


def read_variables(path: Path, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model.bin whose names start with `prefix`, as float32 arrays."""
    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as f:

        def unpack(fmt: str) -> tuple:
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))

        def string() -> str:
            return f.read(unpack("<H")[0]).decode().rstrip("\x00")

        if unpack("<I")[0] < 5:
            raise HybridcodecError(f"{path}: a CTranslate2 model file older than format 5 is not supported")
        string()  # spec name
        unpack("<I")  # spec revision
        for _ in range(unpack("<I")[0]):
            name = string()
            shape = unpack("<" + "I" * unpack("<B")[0])
            dtype, size = unpack("<B")[0], unpack("<I")[0]
            data = f.read(size)
            if not name.startswith(prefix):
                continue
            if dtype == _BFLOAT16:
                raw = np.frombuffer(data, np.uint16).astype(np.uint32) << 16
                out[name] = raw.view(np.float32).reshape(shape)
            elif dtype in _DTYPES:
                out[name] = np.frombuffer(data, _DTYPES[dtype]).astype(np.float32).reshape(shape)
            elif shape == ():
                out[name] = np.frombuffer(data, {2: np.int16, 3: np.int32}.get(dtype, np.int8)).copy()
            else:
                raise HybridcodecError(
                    f"{path}: {name} is stored quantized (dtype code {dtype})",
                    "use a float16 or float32 model",
                )
    return out


def encoder_from_ct2(model_dir: Path):
    """transformers' WhisperEncoder with the weights of the CTranslate2 model in `model_dir`, in eval mode."""
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    v = read_variables(Path(model_dir) / "model.bin")
    layers = sum(1 for k in v if k.endswith("/self_attention/linear_1/weight"))
    dim = v["encoder/conv1/weight"].shape[0]
    config = WhisperConfig(
        d_model=dim, encoder_layers=layers, encoder_attention_heads=int(v["encoder/num_heads"][0]),
        encoder_ffn_dim=v["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        num_mel_bins=v["encoder/conv1/weight"].shape[1],
        max_source_positions=v["encoder/position_encodings/encodings"].shape[0],
    )  # fmt: skip
    state = {
        "conv1.weight": v["encoder/conv1/weight"], "conv1.bias": v["encoder/conv1/bias"],
        "conv2.weight": v["encoder/conv2/weight"], "conv2.bias": v["encoder/conv2/bias"],
        "embed_positions.weight": v["encoder/position_encodings/encodings"],
        "layer_norm.weight": v["encoder/layer_norm/gamma"], "layer_norm.bias": v["encoder/layer_norm/beta"],
    }  # fmt: skip
    for i in range(layers):
        ct2, hf = f"encoder/layer_{i}/", f"layers.{i}."
        qkv_w, qkv_b = v[ct2 + "self_attention/linear_0/weight"], v[ct2 + "self_attention/linear_0/bias"]
        for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
            state[f"{hf}self_attn.{name}.weight"] = qkv_w[j * dim : (j + 1) * dim]
            if name != "k_proj":  # Whisper's key projection has no bias (CTranslate2 stores zeros)
                state[f"{hf}self_attn.{name}.bias"] = qkv_b[j * dim : (j + 1) * dim]
        pairs = {
            "self_attn.out_proj": "self_attention/linear_1", "fc1": "ffn/linear_0", "fc2": "ffn/linear_1",
        }  # fmt: skip
        for target, source in pairs.items():
            state[f"{hf}{target}.weight"] = v[f"{ct2}{source}/weight"]
            state[f"{hf}{target}.bias"] = v[f"{ct2}{source}/bias"]
        for target, source in {
            "self_attn_layer_norm": "self_attention/layer_norm",
            "final_layer_norm": "ffn/layer_norm",
        }.items():
            state[f"{hf}{target}.weight"] = v[f"{ct2}{source}/gamma"]
            state[f"{hf}{target}.bias"] = v[f"{ct2}{source}/beta"]
    encoder = WhisperEncoder(config)
    encoder.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(a)) for k, a in state.items()}, strict=True
    )
    return encoder.eval()

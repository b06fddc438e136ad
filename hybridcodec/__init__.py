"""HybridCodec (arXiv 2606.06743), its training, and the paper's baselines retrained under the same conditions.

Layout (bottom-up, audiocraft-style): `nn/` blocks (causal conv, ConvNeXt, quantizers, discriminators, losses),
`model.py` the assembled codec, `config.py` presets, `teachers.py` frozen semantic teachers, `data.py` crops,
`checkpoint.py` safetensors + training state, `train.py` the trainer, `inference.py` a loaded checkpoint,
`cli.py` the `hybridcodec` command.
"""

import warnings

# DAC's layers use torch.nn.utils.weight_norm, which torch deprecates with a warning per layer; the layers
# work and their state dicts are what checkpoints store, so silence only that message.
warnings.filterwarnings(
    "ignore", message=r"`torch\.nn\.utils\.weight_norm` is deprecated", category=FutureWarning
)

__version__ = "0.1.0"

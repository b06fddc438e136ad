"""Building blocks of HybridCodec: causal convolutions, ConvNeXt stacks, quantizers, discriminators, losses."""

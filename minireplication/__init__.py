"""The mini replication of HybridCodec (arXiv 2606.06743): HybridCodec and the paper's three baselines trained
here under one recipe on an offline corpus, the shipped checkpoints, their codecs for hybridbench, and the claims
page that sets the paper's numbers beside what they show.

It depends on both `hybridcodec` (the model and its trainer) and `hybridbench` (the harness); neither imports it.
"""

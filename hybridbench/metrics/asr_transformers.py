"""Whisper through transformers: ASR profiles whose `engine` is "transformers".

Any Hugging Face Whisper checkpoint (openai/whisper-large-v3, distil-whisper, a fine-tune) under the same
recorded profile as the faster-whisper engine: language forced from the item, beam size, temperature, token
cap. It exists beside faster-whisper for machines where CTranslate2 has no GPU build (its wheels link CUDA 12;
a CUDA 13 PyTorch stack has no cuBLAS 12) and for checkpoints published only in the transformers format; the
two engines do not give identical transcripts (different kernels and precision), so the engine is part of the
profile and of every stored row's ASR name.
"""

from __future__ import annotations

import numpy as np
import torch

from hybridbench.errors import HybridbenchError
from hybridbench.metrics.asr import ASR_SAMPLE_RATE, MAX_CLIP_S, AsrProfile


class HfWhisperTranscriber:
    """A loaded transformers Whisper model following one profile (the same interface as `Transcriber`)."""

    def __init__(self, profile: AsrProfile, *, device: str = "cpu"):
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        self.profile = profile
        model_ref, self.model_sha256 = profile.resolve_model()
        self.device = torch.device(device)
        # fp16 on a GPU unless the profile asks for float32; the CPU has no fast fp16 path.
        half = self.device.type == "cuda" and profile.compute_type in ("default", "float16")
        self.dtype = torch.float16 if half else torch.float32
        try:
            self.processor = WhisperProcessor.from_pretrained(model_ref)
            model = WhisperForConditionalGeneration.from_pretrained(model_ref)
        except Exception as exc:
            raise HybridbenchError(
                f"cannot load ASR {profile.name} ({type(exc).__name__}: {exc})".splitlines()[0],
                "this model downloads from the Hugging Face Hub on first use and needs internet; "
                "offline use whisper-tiny.en or whisper-base",
            ) from exc
        # Cast after loading: the loading keyword for a dtype differs across the transformers versions we accept.
        self.model = model.to(device=self.device, dtype=self.dtype).eval()

    def transcribe(self, audio: np.ndarray, language: str) -> str:
        """audio: mono float32 at 16 kHz -> raw transcript (unnormalized)."""
        return self.transcribe_batch([audio], language)[0]

    def transcribe_batch(self, audios: list[np.ndarray], language: str, batch_size: int = 8) -> list[str]:
        """Transcripts of several utterances, `batch_size` at a time. Clips of at most 30 s go through Whisper's
        one-window decoding (the features padded to 30 s, so a batch pads nothing more); longer ones through
        transformers' sequential long-form decoding, one at a time. Clips are grouped by token cap, as in the
        faster-whisper engine."""
        self.profile.require_language(language)
        texts: list[str] = [""] * len(audios)
        groups: dict[tuple[bool, int | None], list[int]] = {}
        for i, a in enumerate(audios):
            seconds = a.shape[-1] / ASR_SAMPLE_RATE
            groups.setdefault((seconds > MAX_CLIP_S, self.profile.token_cap(seconds)), []).append(i)
        for (long_form, cap), members in groups.items():
            step = 1 if long_form else batch_size
            for start in range(0, len(members), step):
                chosen = members[start : start + step]
                decoded = self._generate([audios[i] for i in chosen], language, cap, long_form)
                for i, text in zip(chosen, decoded, strict=True):
                    texts[i] = text.strip()
        return texts

    def _generate(
        self, audios: list[np.ndarray], language: str, cap: int | None, long_form: bool
    ) -> list[str]:
        p = self.profile
        extract = self.processor.feature_extractor
        clips = [a.astype(np.float32, copy=False) for a in audios]
        if long_form:
            features = extract(
                clips, sampling_rate=ASR_SAMPLE_RATE, return_tensors="pt", truncation=False,
                padding="longest", return_attention_mask=True,
            )  # fmt: skip
        else:
            features = extract(clips, sampling_rate=ASR_SAMPLE_RATE, return_tensors="pt")
        options: dict = {"num_beams": p.beam_size, "do_sample": False}
        if not p.english_only:  # an English-only checkpoint refuses a language or task
            options |= {"language": language.split("-")[0].lower(), "task": "transcribe"}
        if cap is not None:
            options["max_new_tokens"] = cap
        if len(p.temperature) > 1:  # temperature fallback, as the profile records it
            options["temperature"] = p.temperature
        if long_form:
            options |= {
                "attention_mask": features["attention_mask"].to(self.device),
                "return_timestamps": True,
                "condition_on_prev_tokens": p.condition_on_previous_text,
            }
        inputs = features["input_features"].to(self.device, self.dtype)
        with torch.inference_mode():
            ids = self.model.generate(inputs, **options)
        return self.processor.batch_decode(ids, skip_special_tokens=True)

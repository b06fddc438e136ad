"""Fixtures for the model and replication tests (tests/conftest.py loads them as a plugin): real synthesized speech (SVOX Pico via py-nanotts), rendered once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "She sells sea shells by the sea shore.",
    "A journey of a thousand miles begins with a single step.",
    "We also need a small plastic snake and a big toy frog for the kids.",
    "The birch canoe slid on the smooth planks.",
)


# The test folders whose tests train or run models.
MODEL_TESTS = {"hybridcodec", "minireplication"}


@pytest.fixture(autouse=True)
def one_thread(request: pytest.FixtureRequest):
    """One torch thread for the model tests: on a shared 2-core machine, two OpenMP threads fighting other
    processes made a tiny training step 10x slower (8 s vs 0.7 s) than one thread."""
    if request.path.parent.name not in MODEL_TESTS:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six English sentences as 16 kHz WAV files (2.5-4.5 s each)."""
    from py_nanotts import NanoTTS

    folder = tmp_path_factory.mktemp("speech")
    tts = NanoTTS()
    for i, text in enumerate(SENTENCES):
        pcm = tts.speak(text, voice="en-US")
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        assert audio.size > 16000
        sf.write(folder / f"utt{i}.wav", audio, 16000)
    return folder


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One teacher-feature cache for the whole session (Whisper features are computed once per file)."""
    return tmp_path_factory.mktemp("teacher-features")


@pytest.fixture(scope="session")
def speech_batch(speech_dir: Path) -> torch.Tensor:
    """[2, 1, 16000]: the first second of two utterances."""
    wavs = [torch.from_numpy(sf.read(speech_dir / f"utt{i}.wav", dtype="float32")[0][:16000]) for i in (0, 2)]
    return torch.stack(wavs)[:, None]


def tiny_config(**overrides):
    """The tiny preset with quick logging; overrides go to TrainConfig."""
    import dataclasses

    from hybridcodec.config import preset

    return dataclasses.replace(preset("tiny", variant=overrides.pop("variant", "hybrid")), **overrides)


def run_options(
    out: Path,
    data: Path,
    cache: Path,
    steps: int,
    *,
    resume: bool = False,
    teacher: bool = True,
    valid: bool = False,
    init_from: Path | None = None,
):
    from hybridcodec.teachers import TeacherSpec
    from hybridcodec.train import RunOptions

    return RunOptions(
        out=out, data=(str(data),), steps=steps, resume=resume, feature_cache=cache, progress=False,
        teacher=TeacherSpec(name="whisper-base-encoder") if teacher else None,
        valid=(str(data),) if valid else (), init_from=init_from,
    )  # fmt: skip


@pytest.fixture(name="tiny_config")
def tiny_config_fixture():
    return tiny_config


@pytest.fixture(name="run_options")
def run_options_fixture():
    return run_options


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, speech_dir: Path, feature_cache: Path) -> dict:
    """30 steps of `tiny` hybrid on Pico speech with the Whisper-base teacher; losses on a fixed batch before
    and after. Shared by the training, checkpoint, CLI and adapter tests."""
    from hybridcodec.data import CropSampler
    from hybridcodec.nn.losses import distillation_loss
    from hybridcodec.train import Trainer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see one_thread(); session fixtures are set up before function fixtures
    out = tmp_path_factory.mktemp("run") / "tiny-hybrid"
    cfg = tiny_config(batch_size=2, segment_seconds=0.32, sample_every=30, checkpoint_every=15)
    trainer = Trainer(config=cfg, options=run_options(out, speech_dir, feature_cache, 30, valid=True))
    # A fixed evaluation batch (8 crops of 1 s, drawn with another seed) big enough to measure beyond noise.
    evaluation = CropSampler(
        files=trainer.files, sample_rate=16000, hop=640, segment_frames=25, batch_size=8, seed=1234,
        features=trainer.features,
    )  # fmt: skip
    wav, feats = evaluation.batch(0)

    def losses() -> tuple[float, float]:
        model = trainer.model.eval()
        with torch.no_grad():
            result = model(wav)
            mel = trainer.mel_loss(result.audio, wav).item()
            distill = distillation_loss(result.semantic_pred, feats).item()
        model.train()
        return mel, distill

    before = losses()
    trainer.fit()
    after = losses()
    torch.set_num_threads(threads)
    return {"out": out, "before": before, "after": after, "trainer": trainer}

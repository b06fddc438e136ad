"""The four mini checkpoints shipped in the package: trained together, provenance inside, and really trained."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import soundfile as sf
import torch

from hybridbench.hashing import sha256_file
from hybridbench.metrics.extra_signal import MelDistance
from hybridcodec.checkpoint import read_metadata
from hybridcodec.model import HybridCodec
from minireplication.codecs import MINI_CODECS
from minireplication.ship import PACKAGED, packaged_path


def test_every_mini_codec_is_registered_and_finds_its_packaged_checkpoint():
    eps = {ep.name: ep for ep in entry_points(group="hybridbench.codecs")}
    for cls in MINI_CODECS:
        assert eps[cls.name].load() is cls
        status = cls.weights_status(None)
        assert status.available and Path(status.location) == packaged_path(cls.packaged)


def test_the_four_were_trained_alike_and_say_so():
    metas = {cls.packaged: read_metadata(packaged_path(cls.packaged)) for cls in MINI_CODECS}
    assert {m["variant"] for m in metas.values()} == set(metas)
    for key in ("step", "recipe", "corpus_manifest_sha256", "data_sha256", "device", "dtype"):
        assert len({m[key] for m in metas.values()}) == 1, key
    one = next(iter(metas.values()))
    assert int(one["step"]) > 0 and one["dtype"] == "float16"
    assert json.loads(one["corpus"])["manifest_sha256"] == one["corpus_manifest_sha256"]
    trains = [json.loads(m["train_config"]) for m in metas.values()]
    for key in ("batch_size", "segment_seconds", "seed", "optim", "adversarial_start", "loss"):
        assert len({json.dumps(t[key], sort_keys=True) for t in trains}) == 1, key
    assert all(t["model"]["n_acoustic_codebooks"] == 11 for t in trains)  # 12 codebooks, as in the paper
    # SHA256SUMS matches the files.
    sums = dict(line.split("  ")[::-1] for line in (PACKAGED / "SHA256SUMS").read_text().splitlines())
    assert {name: sha256_file(PACKAGED / name) for name in sums} == sums


@pytest.mark.parametrize("cls", MINI_CODECS, ids=lambda c: c.name)
def test_trained_weights_reconstruct_speech_far_better_than_the_same_model_untrained(cls, speech_dir: Path):
    """Catches a loader that silently leaves weights at their initial values, or a wrong variant."""
    codec = cls.load()
    wav = torch.from_numpy(sf.read(speech_dir / "utt1.wav", dtype="float32")[0])[None, None]
    full = codec.decode(codec.encode(wav), length=wav.shape[-1])
    torch.manual_seed(0)
    untrained = HybridCodec(config=codec.model.config).eval()
    teacher = codec.codec.teacher_features(wav) if codec.codec.teacher is not None else None
    with torch.no_grad():
        raw = untrained.decode(untrained.encode(wav, teacher=teacher))[..., : wav.shape[-1]]
    mel = MelDistance()
    trained_d, untrained_d = (
        mel(wav[0, 0].numpy(), full[0, 0].numpy()),
        mel(wav[0, 0].numpy(), raw[0, 0].numpy()),
    )
    assert trained_d < 0.6 * untrained_d, (trained_d, untrained_d)


def test_the_leaderboard_reads_the_training_facts_of_every_shipped_mini():
    """The table of what was trained reads each checkpoint's own config: recipe, target, step, held-out losses."""
    from hybridbench.codecs import CODECS
    from minireplication.leaderboard import _training_facts

    facts = {f["codec"]: f for f in _training_facts()}
    assert set(facts) == {cls.name for cls in MINI_CODECS}
    for name, f in facts.items():
        meta = read_metadata(packaged_path(CODECS.get(name).packaged))
        lr = json.loads(meta["train_config"])["optim"]["schedule"]["lr"]
        assert f"lr {lr}" in f["recipe"] and f["step"] == meta["step"]
        assert f["held_out"].startswith("mel ")
    assert facts["dac-mini"]["target"] is None and "no distillation" in facts["dac-mini"]["recipe"]
    assert facts["hybridcodec-mini"]["target"] == "depositioned"
    assert "teacher R2" in facts["hybridcodec-mini"]["held_out"]

"""Weight management: the checkpoint table, download with checksum, offline errors, refusal of wrong files."""

from __future__ import annotations

import hashlib
import io

import pytest
import torch

from hybridbench import weights as W
from hybridbench.cli import main
from hybridbench.errors import HybridbenchError, WeightsNotFoundError


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HYBRIDBENCH_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # DAC's own cache (~/.cache/descript) stays out of it


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A checkpoint whose one file is served from a file:// URL, with its true sha256 in the table."""
    src = tmp_path / "served" / "tiny.safetensors"
    src.parent.mkdir()
    from safetensors.torch import save_file

    save_file({"w": torch.arange(6.0).reshape(2, 3)}, str(src))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    ckpt = W.Checkpoint(
        "tiny-test",
        src.as_uri(),
        "tiny-test",
        (W.WeightFile("tiny.safetensors", src.as_uri(), size=src.stat().st_size, sha256=digest),),
        "test",
    )
    monkeypatch.setitem(W.CHECKPOINTS, ckpt.name, ckpt)
    return ckpt, src, digest


def test_table_is_consistent_and_never_invents_checksums():
    for codec, names in W.CODEC_CHECKPOINTS.items():
        assert names and all(n in W.CHECKPOINTS for n in names), codec
    for ckpt in W.CHECKPOINTS.values():
        assert ckpt.files and ckpt.license and ckpt.source
        for wf in ckpt.files:
            assert wf.url.startswith("https://")
            # Only EnCodec publishes (part of) a checksum in its file name; everything else is computed at fetch.
            assert wf.sha256 is None
            if wf.sha256_prefix:
                assert wf.sha256_prefix in wf.filename
    assert W.CHECKPOINTS["encodec-24khz"].main.sha256_prefix == "d7cc33bc"
    assert [c.name for c in W.checkpoints_for("dualcodec-25hz")] == ["dualcodec-25hz", "w2v-bert-2.0"]


def test_unknown_name_suggests():
    with pytest.raises(HybridbenchError, match="did you mean dualcodec-25hz"):
        W.checkpoints_for("dualcodec25")


def test_fetch_offline_fails_at_once_naming_the_files(capsys):
    with pytest.raises(WeightsNotFoundError) as err:
        W.fetch("dualcodec-25hz")
    message = str(err.value)
    assert "cannot reach huggingface.co" in message
    for name in (
        "dualcodec_25hz_16384_1024.safetensors",
        "w2vbert2_mean_var_stats_emilia.pt",
        "model.safetensors",
    ):
        assert name in message
    assert str(W.folder(W.CHECKPOINTS["w2v-bert-2.0"])) in message
    # The CLI prints it as one line and exits 2.
    assert main(["weights", "fetch", "encodec-24khz"]) == 2
    err_line = capsys.readouterr().err.strip()
    assert "\n" not in err_line and "encodec_24khz-d7cc33bc.th" in err_line


def test_fetch_downloads_verifies_and_records(served, capsys):
    ckpt, src, digest = served
    folders = W.fetch("tiny-test", out=io.StringIO())
    dest = folders[0] / "tiny.safetensors"
    assert dest.read_bytes() == src.read_bytes()
    assert (folders[0] / "tiny.safetensors.sha256").read_text().split()[0] == digest
    located = W.locate("tiny-test")
    assert located.sha256 == digest and not located.from_override
    assert torch.equal(W.load_state_dict(dest)["w"], torch.arange(6.0).reshape(2, 3))
    # `path` shows where it looks and that the file is there.
    assert main(["weights", "path", "tiny-test"]) == 0
    assert f"{dest}  [present]" in capsys.readouterr().out


def test_download_with_wrong_checksum_is_refused_and_not_kept(served, monkeypatch):
    ckpt, src, digest = served
    bad = W.WeightFile("tiny.safetensors", src.as_uri(), sha256="0" * 64)
    monkeypatch.setitem(
        W.CHECKPOINTS, ckpt.name, W.Checkpoint(ckpt.name, ckpt.source, ckpt.folder, (bad,), "test")
    )
    with pytest.raises(HybridbenchError, match="refusing"):
        W.fetch("tiny-test", out=io.StringIO())
    assert not list(W.folder(ckpt).iterdir())  # neither the file nor a .part remains


def test_cached_file_that_changed_is_refused(served):
    ckpt, src, digest = served
    W.fetch("tiny-test", out=io.StringIO())
    dest = W.folder(ckpt) / "tiny.safetensors"
    dest.write_bytes(dest.read_bytes()[:-1] + b"\x00")  # silent corruption after download
    with pytest.raises(HybridbenchError, match="refusing"):
        W.locate("tiny-test")


def test_hand_copied_file_is_recorded_then_checked(monkeypatch):
    # EnCodec pins a sha256 prefix in its file name: a wrong hand-copied file is refused at once.
    ckpt = W.CHECKPOINTS["encodec-24khz"]
    dest = W.folder(ckpt) / ckpt.main.filename
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"not the encodec checkpoint")
    with pytest.raises(HybridbenchError, match="does not start with d7cc33bc"):
        W.locate("encodec-24khz")
    # A file without a pinned checksum is trusted on first use, recorded, and any later change is refused.
    mimi = W.CHECKPOINTS["mimi"]
    W.folder(mimi).mkdir(parents=True)
    for wf in mimi.files:
        (W.folder(mimi) / wf.filename).write_bytes(wf.filename.encode())
    first = W.locate("mimi")
    assert first.sha256 == hashlib.sha256(b"model.safetensors").hexdigest()
    (W.folder(mimi) / "model.safetensors").write_bytes(b"swapped")
    with pytest.raises(HybridbenchError, match="recorded"):
        W.locate("mimi")


def test_override_and_missing_errors(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="hybridbench weights fetch mimi"):
        W.locate("mimi")
    own = tmp_path / "mine"
    own.mkdir()
    (own / "model.safetensors").write_bytes(b"x")
    with pytest.raises(WeightsNotFoundError, match="lacks config.json"):
        W.locate("mimi", own)
    (own / "config.json").write_text("{}")
    located = W.locate("mimi", own)
    assert located.from_override and located.folder == own
    assert W.status_of("mimi", str(own))[0] and not W.status_of("mimi")[0]


def test_loading_never_unpickles_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(1), "x": Evil()}, path)
    with pytest.raises(HybridbenchError, match="cannot load .* safely"):
        W.load_state_dict(path)
    torch.save({"w": torch.ones(2)}, tmp_path / "ok.pt")
    assert torch.equal(W.load_state_dict(tmp_path / "ok.pt")["w"], torch.ones(2))


def test_dac_finds_fetched_weights_and_refuses_changed_ones():
    from hybridbench.codecs import CODECS

    cls = CODECS.get("dac-16khz")
    assert cls.weights_status().hint.startswith("hybridbench weights fetch dac-16khz")
    path = cls.cached_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"changed after download")
    W._record_path(path).write_text(hashlib.sha256(b"as downloaded").hexdigest() + "  x\n")
    status = cls.weights_status()
    assert status.available and status.location == str(path)
    with pytest.raises(HybridbenchError, match="refusing"):
        cls.load()


def test_loading_downloads_missing_files_when_the_source_is_reachable(served, capsys):
    ckpt, src, digest = served  # a file:// source is always reachable
    located = W.locate("tiny-test")
    assert located.sha256 == digest and (located.folder / "tiny.safetensors").read_bytes() == src.read_bytes()
    assert "sha256" in capsys.readouterr().err

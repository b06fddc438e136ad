"""Weight management: the checkpoint table, download with checksum, offline errors, refusal of wrong files."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import huggingface_hub
import pytest
import torch
from huggingface_hub import constants as hf_constants

from hybridbench import weights as W
from hybridbench.cli import main
from hybridbench.errors import HybridbenchError, WeightsNotFoundError

COMMIT = "0123456789abcdef0123456789abcdef01234567"  # what "main" resolves to in the fake hub


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HYBRIDBENCH_OFFLINE", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # DAC's own cache (~/.cache/descript) stays out of it
    # huggingface_hub read HF_HUB_CACHE at import; point it at an empty folder so the user's cache is never seen.
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub"))


def _publish(repo_id: str, filename: str, content: bytes, *, commit: str = COMMIT, lfs: bool = True) -> Path:
    """Lay a file out exactly as huggingface_hub caches it: blob named by its etag, snapshot link, refs/main."""
    repo = Path(hf_constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    etag = hashlib.sha256(content).hexdigest() if lfs else hashlib.sha1(content).hexdigest()
    blob = repo / "blobs" / etag
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(content)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    link = repo / "snapshots" / commit / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(blob)
    return link


@pytest.fixture
def fake_hub(monkeypatch):
    """hf_hub_download that serves `<repo>/<file>` as bytes into the (isolated) HF cache and records its calls."""
    calls = []

    def hf_hub_download(repo_id, filename, *, revision=None, cache_dir=None, **kwargs):
        calls.append((repo_id, filename, revision))
        assert Path(cache_dir) == Path(hf_constants.HF_HUB_CACHE)  # the shared cache, not a private one
        assert revision in ("main", COMMIT), revision
        return str(
            _publish(repo_id, filename, f"{repo_id}/{filename}".encode(), lfs=filename != "config.json")
        )

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.delenv("HYBRIDBENCH_OFFLINE")
    monkeypatch.setattr(W, "_reachable", lambda url, timeout=3.0: True)  # no network in tests
    return calls


def _no_download(*args, **kwargs):
    raise AssertionError("nothing may be downloaded here")


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
            if ckpt.repo:  # hub files are taken at the row's revision, and fetched by hand from there too
                assert ckpt.revision and f"/{ckpt.repo}/resolve/{ckpt.revision}/" in wf.url
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
    assert "cannot reach huggingface.co (HYBRIDBENCH_OFFLINE is set)" in message
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


# ---- Hugging Face Hub checkpoints --------------------------------------------------------------------------
def test_hub_fetch_pins_one_commit_records_and_enforces(fake_hub):
    out = io.StringIO()
    (snapshot,) = W.fetch("mimi", out=out)
    # The row's revision for the first file, then the commit it resolved to, so both land in one snapshot.
    assert fake_hub == [("kyutai/mimi", "model.safetensors", "main"), ("kyutai/mimi", "config.json", COMMIT)]
    assert snapshot.name == COMMIT and (snapshot / "config.json").is_file()
    assert f"hf://kyutai/mimi@{COMMIT}" in out.getvalue()
    digest = hashlib.sha256(b"kyutai/mimi/model.safetensors").hexdigest()
    record = W._record_path(snapshot / "model.safetensors")
    assert record.read_text().split()[0] == digest
    # The record lives in hybridbench's cache; the shared HF cache holds only what huggingface_hub wrote.
    assert record.is_relative_to(W.cache_dir("weights")) and not list(snapshot.glob("*.sha256*"))
    # Later loads find the snapshot without downloading, and report the main file's sha256.
    fake_hub.clear()
    located = W.locate("mimi")
    assert located.folder == snapshot and located.sha256 == digest and fake_hub == []
    assert W.status_of("mimi") == (True, str(snapshot), "", None)
    # A small file without a hub sha256 that changes after its first use is refused by its record.
    config = (snapshot / "config.json").resolve()
    config.write_bytes(b"swapped")
    with pytest.raises(HybridbenchError, match=r"recorded at first use.*weights fetch"):
        W.locate("mimi")


def test_hub_blob_that_is_not_what_the_hub_published_is_refused():
    # An LFS blob is named by its sha256: a corrupted one is refused even before any record exists.
    link = _publish("kyutai/mimi", "model.safetensors", b"original")
    _publish("kyutai/mimi", "config.json", b"{}", lfs=False)
    link.resolve().write_bytes(b"corrupted")
    with pytest.raises(HybridbenchError, match="the Hugging Face Hub published") as err:
        W.locate("mimi")
    assert "\n" not in str(err.value) and "hybridbench weights fetch" in str(err.value)
    assert not W._record_path(link).exists()  # nothing wrong was recorded


def test_hub_cache_filled_by_another_tool_is_used_offline(monkeypatch):
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _no_download)
    link = _publish("kyutai/mimi", "model.safetensors", b"weights")
    _publish("kyutai/mimi", "config.json", b"{}", lfs=False)
    located = W.locate("mimi")  # HYBRIDBENCH_OFFLINE=1: found through refs/main, no network
    assert located.folder == link.parent and located.sha256 == hashlib.sha256(b"weights").hexdigest()
    assert W.main_file(located, "mimi") == link
    # A checkpoint whose files sit in a sub-folder of the repository resolves to the snapshot root.
    _publish("fnlp/SpeechTokenizer", "speechtokenizer_hubert_avg/SpeechTokenizer.pt", b"st")
    _publish("fnlp/SpeechTokenizer", "speechtokenizer_hubert_avg/config.json", b"{}", lfs=False)
    assert W.hub_folder(W.CHECKPOINTS["speechtokenizer"]).name == COMMIT
    # An incomplete snapshot does not count as present.
    _publish("hubertsiuzdak/snac_24khz", "config.json", b"{}", lfs=False)
    assert W.present_folder(W.CHECKPOINTS["snac-24khz"]) is None


@pytest.mark.parametrize("flag", ["HF_HUB_OFFLINE", "HYBRIDBENCH_OFFLINE"])
def test_offline_flags_fail_at_once_with_the_fetch_command(flag, monkeypatch, capsys):
    monkeypatch.delenv("HYBRIDBENCH_OFFLINE")
    monkeypatch.setenv(flag, "1")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _no_download)
    monkeypatch.setattr(W.socket, "create_connection", _no_download)  # not even a reachability probe
    with pytest.raises(WeightsNotFoundError) as err:
        W.locate("mimi")
    message = str(err.value)
    assert (
        "\n" not in message
        and "model.safetensors" in message
        and "`hybridbench weights fetch mimi`" in message
    )
    assert main(["weights", "fetch", "mimi"]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and f"cannot reach huggingface.co ({flag} is set)" in line
    assert f"{W.folder(W.CHECKPOINTS['mimi'])}/" in line and "hf://kyutai/mimi@main" in line


def test_legacy_cache_layout_is_found_without_a_download(fake_hub, monkeypatch, capsys):
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _no_download)
    mimi = W.CHECKPOINTS["mimi"]
    legacy = W.folder(mimi)
    legacy.mkdir(parents=True)
    for wf in mimi.files:
        (legacy / wf.filename).write_bytes(wf.filename.encode())
    assert W.locate("mimi").folder == legacy
    assert W.fetch("mimi", out=io.StringIO()) == [legacy]
    assert main(["weights", "list"]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| mimi ")]
    assert "hf://kyutai/mimi@main" in row and "| here |" in row


def test_hub_download_failure_is_one_line(fake_hub, monkeypatch):
    def refused(*args, **kwargs):
        raise huggingface_hub.errors.LocalEntryNotFoundError("connection reset\nmore detail")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refused)
    with pytest.raises(
        HybridbenchError, match=r"hf://kyutai/mimi@main failed: LocalEntryNotFoundError"
    ) as err:
        W.fetch("mimi", out=io.StringIO())
    assert "\n" not in str(err.value)


# ---- files hosted elsewhere ----------------------------------------------------------------------------------
def test_direct_download_failure_leaves_nothing(served, tmp_path, monkeypatch):
    ckpt, src, digest = served
    gone = W.WeightFile("tiny.safetensors", (tmp_path / "absent.safetensors").as_uri())
    monkeypatch.setitem(
        W.CHECKPOINTS, ckpt.name, W.Checkpoint(ckpt.name, ckpt.source, ckpt.folder, (gone,), "test")
    )
    with pytest.raises(HybridbenchError, match="download of .* failed"):
        W.fetch("tiny-test", out=io.StringIO())
    assert not list(W.folder(ckpt).iterdir())


def test_direct_download_checks_size_and_prefix(tmp_path):
    from hybridbench.download import download

    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    digest = hashlib.sha256(b"payload").hexdigest()
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(HybridbenchError, match="expected 8 bytes, got 7"):
        download(src.as_uri(), dest, size=8)
    with pytest.raises(HybridbenchError, match="starting with ffff"):
        download(src.as_uri(), dest, sha256_prefix="ffff")
    assert not list(dest.parent.iterdir())
    assert download(src.as_uri(), dest, sha256=digest, sha256_prefix=digest[:8], size=7) == digest
    assert dest.read_bytes() == b"payload" and list(dest.parent.iterdir()) == [dest]

"""Every dataset suite is registered under its own name, yields the common Item type, and `data prepare` works."""

from __future__ import annotations

import pytest

from hybridbench.cli import main
from hybridbench.suites import SUITES, Item, Suite

DATASET_SUITES = [
    "librispeech-test-clean",
    "librispeech-test-other",
    "seedtts-en",
    "commonvoice-fr",
    "asterisk-en",
    "asterisk-en-train",
    "asterisk-en-test",
    "asterisk-fr",
    "asterisk-fr-train",
    "asterisk-fr-test",
    "librivox-mini",
]


@pytest.mark.parametrize("name", DATASET_SUITES)
def test_registered_with_contract(name):
    cls = SUITES.get(name)
    assert issubclass(cls, Suite) and cls.name == name
    assert cls.language in {"en", "fr"} and cls.description
    assert callable(getattr(cls, "prepare", None)) and callable(getattr(cls, "problems", None))
    status = cls.status()
    assert status.available or status.hint  # missing data always comes with what to do


@pytest.mark.parametrize("name", ["asterisk-en", "asterisk-fr", "librivox-mini"])
def test_offline_suites_yield_items_with_speaker_and_duration(name):
    cls = SUITES.get(name)
    if not cls.status().available:
        pytest.skip(f"{name}: data not installed here ({cls.status().hint})")
    items = cls().items()
    assert items and all(type(i) is Item for i in items)
    assert all(i.speaker and i.duration and i.duration > 0 and i.text for i in items)
    assert len({i.id for i in items}) == len(items)
    assert [i.id for i in items] == [i.id for i in cls().items()]  # fixed order


def test_data_prepare_reports_present_data(capsys):
    if not SUITES.get("librivox-mini").status().available:
        pytest.skip("pocketsphinx-testdata not installed")
    assert main(["data", "prepare", "librivox-mini"]) == 0
    assert "librivox-mini: already present at" in capsys.readouterr().out


def test_data_prepare_unknown_name_and_unpreparable_suite(capsys, tmp_path):
    assert main(["data", "prepare", "librispeech-test-clen"]) == 2
    err = capsys.readouterr().err
    assert "unknown suite 'librispeech-test-clen'" in err and "did you mean 'librispeech-test-clean'" in err
    assert main(["data", "prepare", "seedtts-en", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seedtts-en cannot be downloaded automatically" in err

"""Adapters of optional packages: listed as unavailable with the pip command, never breaking hybridbench."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hybridbench.codecs import CODECS
from hybridbench.errors import HybridbenchError

OPTIONAL = {
    "encodec-24khz": ("encodec", "pip install encodec"),
    "speechtokenizer": ("speechtokenizer", "pip install speechtokenizer beartype"),
    "snac-24khz": ("snac", "pip install snac"),
    "dualcodec-25hz": ("dualcodec", "pip install dualcodec==0.4.2"),
}


def test_all_adapters_are_registered():
    for name in (
        *OPTIONAL,
        "dualcodec-12hz",
        "mimi",
        "snac-32khz",
        "snac-44khz",
        "xcodec-hubert-librispeech",
    ):
        assert CODECS.get(name).name == name


@pytest.mark.parametrize("codec", sorted(OPTIONAL))
def test_missing_package_is_unavailable_with_the_pip_command(codec, monkeypatch):
    module, hint = OPTIONAL[codec]
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    cls = CODECS.get(codec)
    status = cls.weights_status()
    assert not status.available and status.hint == hint
    assert cls.describe().sample_rate > 0  # facts stay listable without the package
    with pytest.raises(HybridbenchError) as err:
        cls.load()
    assert err.value.hint == hint


def test_adapters_import_their_packages_lazily():
    code = (
        "import sys\n"
        "from hybridbench.codecs import CODECS\n"
        "for name in CODECS.names():\n"
        "    cls = CODECS.get(name); cls.describe(); cls.weights_status()\n"
        "heavy = [m for m in ('encodec', 'snac', 'speechtokenizer', 'dualcodec') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

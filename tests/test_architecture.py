"""The layout's rules that no linter checks: no module imports another module's private names (a package's
private helper module, such as `hybridbench/codecs/_support.py`, is shared by its own package only)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hybridbench", "hybridcodec", "minireplication")


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
                and not alias.name.startswith("__")
                and not _own_private_module(path, node.module, alias.name)
            ]
    return found


def _own_private_module(importer: Path, module: str, name: str) -> bool:
    package = ROOT.joinpath(*module.split("."))
    return (package / f"{name}.py").is_file() and importer.parent == package


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_another_modules_private_names(package: str):
    found = [hit for path in sorted((ROOT / package).rglob("*.py")) for hit in _private_imports(path)]
    assert not found, "\n".join(found)


def test_the_check_sees_a_private_import(tmp_path: Path):
    bad = ROOT / "hybridbench" / "_architecture_probe.py"
    try:
        bad.write_text("from hybridbench.runner import _write_json\n", encoding="utf-8")
        assert _private_imports(bad) == [
            "hybridbench/_architecture_probe.py:1 imports hybridbench.runner._write_json"
        ]
    finally:
        bad.unlink()


def test_the_direction_of_dependency_holds():
    """import-linter's contract (pyproject.toml): also in `make lint`; here so that CI, which runs the tests,
    refuses an import against the direction too."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]

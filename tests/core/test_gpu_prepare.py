"""benchmarks/gpu_prepare.py's image guard: a process under it sees a distribution outside the allowed set as
absent (no module, no spec, no metadata), and everything else as usual."""

from __future__ import annotations

from pathlib import Path


def test_the_guard_hides_exactly_the_distributions_not_allowed(benchmark_script, fresh_python):
    benchmarks = Path(benchmark_script("gpu_prepare").__file__).parent
    fresh_python(f"""
        import importlib.metadata, importlib.util, sys
        sys.path.insert(0, {str(benchmarks)!r})
        import gpu_prepare

        everything = {{gpu_prepare.canonical(d.metadata["Name"]) for d in importlib.metadata.distributions()}}
        guard = gpu_prepare.ImageOnly(everything - {{"jiwer"}})
        guard.install()
        assert importlib.util.find_spec("jiwer") is None
        try:
            import jiwer
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError("jiwer imported under the guard")
        try:
            importlib.metadata.version("jiwer")
        except importlib.metadata.PackageNotFoundError:
            pass
        else:
            raise AssertionError("jiwer's metadata is visible under the guard")
        import rapidfuzz, json  # an allowed distribution and the standard library
        assert importlib.metadata.version("rapidfuzz")
        assert guard.refused == {{"jiwer"}}
        """)


def test_image_list_is_read_as_canonical_names(benchmark_script):
    prepare = benchmark_script("gpu_prepare")
    names = prepare.image_packages()
    assert {"torch", "transformers", "huggingface-hub", "typing-extensions"} <= names
    assert not any(n.startswith("#") or n != n.lower() for n in names)

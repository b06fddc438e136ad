"""DualCodec's layers from the installed dualcodec package, without running the package's `__init__` first.

`import dualcodec.model_codec.cnn` first executes `dualcodec/__init__.py`, which imports the package's inference
stack and, through cached_path, the boto3 and Google Cloud Storage clients: about a second more for every
process that builds a HybridCodec, a google-api-core FutureWarning in every log, and some 25 MiB more wheels on
a machine that must bring its packages (a lent GPU). Its model code needs none of that. `dualcodec_package`
registers the package with its `__init__` deferred (PEP 562): submodules import as usual, and the first read
of a name that only `__init__` defines (`dualcodec.get_model`, `dualcodec.Inference`) runs it, so code that
uses the whole package still gets it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

from hybridcodec.errors import HybridcodecError

PACKAGE = "dualcodec"


def dualcodec_package() -> ModuleType:
    """The `dualcodec` package in `sys.modules`: the imported one if any, else one whose `__init__` runs on
    the first read of a name it defines."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        raise HybridcodecError("the dualcodec package is not installed", "pip install dualcodec==0.4.2")
    package = importlib.util.module_from_spec(spec)

    def __getattr__(name: str):
        if name.startswith("__"):  # interpreter and tool probes (__all__, __wrapped__, ...): not the API
            raise AttributeError(name)
        if importlib.util.find_spec(f"{PACKAGE}.{name}") is not None:
            return importlib.import_module(f"{PACKAGE}.{name}")  # a submodule: no need for __init__
        del package.__dict__["__getattr__"]
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = __getattr__
    sys.modules[PACKAGE] = package
    return package


def _cnn_module() -> ModuleType:
    dualcodec_package()
    return importlib.import_module(f"{PACKAGE}.model_codec.cnn")


ConvNeXtBlock = _cnn_module().ConvNeXtBlock

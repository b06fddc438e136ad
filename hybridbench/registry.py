"""One generic registry, filled from one source.

Built-ins are declared as entry points in this project's own pyproject.toml, exactly as a third-party package
declares its plugins, so both take the same path. Code that is not packaged (a script, a notebook, a test) can
also use the `register` decorator. Entry points are loaded lazily, on first lookup or listing; a plugin that
fails to import is reported with a warning that names it, and is listed as broken instead of vanishing.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from hybridbench.errors import UnknownNameError

T = TypeVar("T")


class PluginLoadWarning(UserWarning):
    """A registered plugin could not be imported."""


class Registry(Generic[T]):
    """Maps names to objects of one kind (codec classes, suite classes, ASR profiles, metrics).

    Args:
        kind: what the registry holds, used in messages ("codec", "suite", ...).
        group: the entry-point group that third-party packages (and this one) declare plugins in.
        list_hint: the command that lists valid names, quoted in "unknown name" errors.
    """

    def __init__(self, kind: str, group: str, list_hint: str):
        self.kind = kind
        self.group = group
        self.list_hint = list_hint
        self._items: dict[str, T] = {}
        self._broken: dict[str, str] = {}
        self._entry_points_loaded = False

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: `@registry.register("my-name")`, or without a name to use the object's `name`."""

        def decorate(obj: T) -> T:
            key = name or getattr(obj, "name", None)
            if not key:
                raise ValueError(f"a {self.kind} needs a name to be registered")
            self.add(key, obj)
            return obj

        return decorate

    def add(self, name: str, obj: T) -> None:
        existing = self._items.get(name)
        if existing is not None and existing is not obj:
            raise ValueError(f"{self.kind} {name!r} is already registered by {_origin(existing)}")
        self._items[name] = obj
        self._broken.pop(name, None)

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name in self._items:
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must never break the tool
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
                self._broken[ep.name] = reason
                warnings.warn(
                    f"{self.kind} plugin {ep.name!r} ({ep.value}) failed to load: {reason}",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            declared = getattr(obj, "name", ep.name)
            if declared != ep.name:
                self._broken[ep.name] = (
                    f"entry point name {ep.name!r} differs from the object's name {declared!r}"
                )
                warnings.warn(
                    f"{self.kind} plugin {ep.name!r}: {self._broken[ep.name]}",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            self._items[ep.name] = obj

    def reload(self) -> None:
        """Forget what entry points provided and read them again (after installing a plugin package)."""
        self._entry_points_loaded = False
        self._load_entry_points()

    def get(self, name: str) -> T:
        self._load_entry_points()
        if name in self._items:
            return self._items[name]
        if name in self._broken:
            raise UnknownNameError(
                f"{self.kind} {name!r} is installed but failed to load: {self._broken[name]}",
                "reinstall the package that provides it",
            )
        close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
        suggestion = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        raise UnknownNameError(f"unknown {self.kind} {name!r}", f"{suggestion}see `{self.list_hint}`")

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def broken(self) -> dict[str, str]:
        """Plugins that are declared but failed to load, with the reason."""
        self._load_entry_points()
        return dict(self._broken)

    def __contains__(self, name: str) -> bool:
        self._load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def _origin(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


def parse_names(value: str) -> list[str]:
    """Split a comma-separated CLI list, dropping blanks and keeping order."""
    return [part.strip() for part in value.split(",") if part.strip()]

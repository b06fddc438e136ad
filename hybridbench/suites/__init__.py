"""Suite registry: built-ins and third-party suites, declared in the `hybridbench.suites` entry-point group."""

from hybridbench.registry import Registry
from hybridbench.suites.base import Item, Suite, SuiteStatus

SUITES: Registry[type[Suite]] = Registry("suite", group="hybridbench.suites", list_hint="hybridbench suites")
register_suite = SUITES.register

__all__ = ["SUITES", "Item", "Suite", "SuiteStatus", "register_suite"]

"""What the environment (``StackContext.environment``) means for a component's settings.

Every settings model defaults to prod-grade values. Two things change with the environment,
and each component declares both next to its own settings:

- ``NONPROD_DEFAULTS`` (a class attribute of the settings model, in Python field names):
  cheaper values a nonprod component gets wherever its caller is silent
  (:meth:`~components.core.settings.SettingsModel.for_environment`). A default never
  creates a store or a feature the caller did not ask for (:class:`IfPresent`).
- ``PROD_RULES`` (in the component's ``checks.py``): what a prod component must keep. A
  prod component that breaks one refuses to build, naming the key and the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .problems import Problem, at

#: Under a map of named entries (apps, databases): defaults for every entry.
EACH = "*"

#: PCI DSS 10.5.1: audit log history is kept at least 12 months.
PCI_RETENTION = "(PCI DSS 10.5.1: keep audit logs at least 12 months)"


class IfPresent(dict[str, Any]):
    """Defaults for an optional section: applied only when the caller declares it
    (a nonprod default must never create a data store)."""


def apply_defaults(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``defaults`` filled in wherever ``data`` is silent, at any depth."""
    merged = dict(data)
    for key, default in defaults.items():
        if key == EACH:
            for name, entry in merged.items():
                if isinstance(entry, Mapping):
                    merged[name] = apply_defaults(entry, default)
            continue
        if isinstance(default, Mapping):
            if isinstance(default, IfPresent) and merged.get(key) is None:
                continue
            current = merged.get(key, {})
            if isinstance(current, Mapping):
                merged[key] = apply_defaults(current, default)
        elif key not in merged:
            merged[key] = default
    return merged


S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True)
class EnvRule(Generic[S]):
    """A rule every prod component keeps. ``violations`` yields the settings keys (dotted
    Python paths from the settings root) that break it."""

    key: str
    rule: str
    violations: Callable[[S], Iterable[str]]


def one(key: str, rule: str, holds: Callable[[S], bool]) -> EnvRule[S]:
    """A rule on the settings as a whole, reported at ``key``."""
    return EnvRule(key, rule, lambda s: [] if holds(s) else [key])


def each(
    key: str, rule: str, items: Callable[[S], Mapping[str, T]], holds: Callable[[T], bool]
) -> EnvRule[S]:
    """A rule on every named entry; ``key`` has ``{}`` where the entry's name goes."""
    return EnvRule(
        key,
        rule,
        lambda s: [key.format(name) for name, item in items(s).items() if not holds(item)],
    )


def optional(
    key: str, rule: str, item: Callable[[S], T | None], holds: Callable[[T], bool]
) -> EnvRule[S]:
    """A rule on an optional section: holds when the caller has no such section."""

    def violations(s: S) -> list[str]:
        value = item(s)
        return [] if value is None or holds(value) else [key]

    return EnvRule(key, rule, violations)


def broken_rules(rules: Iterable[EnvRule[S]], settings: S) -> list[Problem]:
    """One problem per key that breaks a rule."""
    return [
        Problem(at(*key.split(".")), rule.rule)
        for rule in rules
        for key in rule.violations(settings)
    ]

"""Problems a component finds before it registers anything, and how the caller is told.

Every rule of every component returns :class:`Problem` values instead of raising, so all of
a caller's mistakes are reported at once. A problem names its key as a path of Python names
from the component's arguments (``("settings", "rds", "loyalty", "multi_az")``); the same
problem is shown the way the caller wrote the key:

- used from Python, a component raises :class:`ComponentConfigError` naming
  ``settings.rds["loyalty"].multi_az``, the argument the caller typed;
- read from a stack file, the platform's loader shows ``payments-platform:dataTier.rds.
  loyalty.multiAz`` (:func:`config_key`), the key the caller wrote in YAML.

A message may name other settings in backticks as dotted paths from the settings root
(`` `redis.replicas_per_shard` ``); they are shown in the caller's style too.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pulumi
from pydantic import BaseModel, ValidationError

KeyPart = str | int
KeyPath = tuple[KeyPart, ...]
Style = Literal["python", "config"]

#: The argument every component takes its settings in.
SETTINGS = "settings"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a component's settings or wiring, and what to change.

    ``key`` starts with the constructor argument it is about (``settings``, ``network``,
    ``name`` ...); below ``settings`` it follows the settings model's fields and map keys.
    """

    key: KeyPath
    message: str

    @property
    def argument(self) -> str:
        return str(self.key[0]) if self.key else SETTINGS


def check_name(name: str, valid: Callable[[str], object], rule: str) -> list[Problem]:
    """The component's name, which starts the names of what it builds: one problem stating
    ``rule`` when ``valid(name)`` is falsy."""
    return [] if valid(name) else [Problem(("name",), f"{name!r} {rule}")]


def at(*key: KeyPart) -> KeyPath:
    """A key below the settings argument: ``at("rds", name, "multi_az")``."""
    return (SETTINGS, *key)


# --- walking a settings model ---------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional, so the walk sees the model, dict or list inside."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            containers = [a for a in members if _is_container(a)]
            if len(containers) == 1:
                annotation = containers[0]
            elif len(members) == 1:
                annotation = members[0]
            else:
                return annotation
        else:
            return annotation


def _is_container(annotation: Any) -> bool:
    a = annotation
    while get_origin(a) is Annotated:
        a = get_args(a)[0]
    if isinstance(a, type) and issubclass(a, BaseModel):
        return True
    return get_origin(a) in (dict, list, tuple, Mapping, Sequence)


@dataclass(frozen=True)
class _Step:
    kind: Literal["field", "key", "index"]
    python: str
    config: str


def _walk(model: type[BaseModel] | None, parts: Sequence[KeyPart]) -> list[_Step] | None:
    """The steps of ``parts`` through ``model``; None if a part is not a field there."""
    steps: list[_Step] = []
    current: Any = model
    for part in parts:
        current = _unwrap(current)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            steps.append(_Step("field", str(part), field.alias or str(part)))
            current = field.annotation
        elif origin in (dict, Mapping):
            steps.append(_Step("key", str(part), str(part)))
            current = get_args(current)[1]
        elif origin in (list, tuple, Sequence) and isinstance(part, int):
            steps.append(_Step("index", str(part), str(part)))
            args = get_args(current)
            current = args[0] if args else Any
        else:
            return None
    return steps


def _render(steps: Iterable[_Step], style: Style) -> str:
    text = ""
    for step in steps:
        if style == "config":
            text += f"[{step.config}]" if step.kind == "index" else f".{step.config}"
        elif step.kind == "field":
            text += f".{step.python}"
        elif step.kind == "key":
            text += f"[{step.python!r}]"
        else:
            text += f"[{step.python}]"
    return text.removeprefix(".")


def settings_path(model: type[BaseModel] | None, parts: Sequence[KeyPart], style: Style) -> str:
    """A path below a settings model in the caller's style; unknown parts are shown as is."""
    # pydantic locates an invalid mapping key as `<field>.<key>.[key]`: the key is the place
    parts = [p for p in parts if p != "[key]"]
    steps = _walk(model, parts)
    if steps is None:
        return ".".join(str(p) for p in parts)
    return _render(steps, style)


_REFERENCE = re.compile(r"`([A-Za-z_][A-Za-z0-9_.-]*)`")


def _references(message: str, model: type[BaseModel] | None, style: Style) -> str:
    """Backticked dotted paths that are settings of ``model``, in the caller's style."""
    if model is None:
        return message

    def one(match: re.Match[str]) -> str:
        parts = match.group(1).split(".")
        steps = _walk(model, parts)
        if not steps or steps[-1].kind != "field":
            return match.group(0)
        dotted = ".".join(s.config if style == "config" else s.python for s in steps)
        return f"`{dotted}`"

    return _REFERENCE.sub(one, message)


def python_line(problem: Problem, model: type[BaseModel] | None) -> str:
    """``settings.rds['loyalty'].multi_az: <message>`` (keys as a Python caller wrote them)."""
    head, *rest = problem.key or (SETTINGS,)
    where = str(head)
    if rest and head == SETTINGS:
        below = settings_path(model, rest, "python")
        where += below if below.startswith("[") else f".{below}"
    else:  # another argument: a mapping (or list) the caller passed
        where += "".join(f"[{part!r}]" for part in rest)
    return f"{where}: {_references(problem.message, model, 'python')}"


def config_line(problem: Problem, model: type[BaseModel] | None, prefix: str) -> str:
    """``<prefix>.rds.loyalty.multiAz: <message>`` (keys as a stack file writes them).

    ``prefix`` is where the component's settings sit in the stack file, e.g.
    ``payments-platform:dataTier`` or ``payments-platform:apps.loyalty``. A problem about
    another argument (the network, the apps) is shown under the same prefix.
    """
    head, *rest = problem.key or (SETTINGS,)
    where = prefix
    if head == SETTINGS and rest:
        where += "." + settings_path(model, rest, "config")
    return f"{where}: {_references(problem.message, model, 'config')}"


def validation_lines(error: ValidationError) -> list[str]:
    """A settings model's validation error as ``  - Model.field: message`` lines."""
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"  - {error.title}{'.' + loc if loc else ''}: {message}")
    return lines


class ComponentConfigError(ValueError, pulumi.RunError):
    """A component was given settings or references it cannot build; nothing was registered.

    ``problems`` holds one line per problem. It is a :class:`pulumi.RunError`, so the Pulumi
    CLI prints the lines without a Python traceback, and the offline plan exits with 2.
    """

    def __init__(self, what: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what}: invalid configuration\n{lines}")


def raise_problems(
    component: str, name: str, problems: Sequence[Problem], model: type[BaseModel]
) -> None:
    """Raise :class:`ComponentConfigError` listing ``problems`` the Python way, if any."""
    if problems:
        raise ComponentConfigError(
            f"{component}({name!r})", [python_line(p, model) for p in problems]
        )

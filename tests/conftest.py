"""Shared fixtures: offline plans of the real stacks, computed once per test session.

A full stack plan takes a few seconds (the Pulumi SDK waits on every output of ~400
resources), so tests share them instead of re-planning.
"""

from __future__ import annotations

import ast
import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.plan import plan_stack
from components.testing import Plan

ROOT = Path(__file__).resolve().parents[1]

_CACHE: dict[str, Plan] = {}

StackPlanner = Callable[..., Plan]


def planned(stack: str, overrides: dict[str, Any] | None = None) -> Plan:
    """The offline plan of ``Pulumi.<stack>.yaml`` (with config overrides), memoized."""
    key = json.dumps([stack, overrides], sort_keys=True)
    if key not in _CACHE:
        _CACHE[key] = plan_stack(stack, ROOT, config_overrides=overrides)
    return _CACHE[key]


@pytest.fixture(scope="session")
def stack_plan() -> StackPlanner:
    return planned


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return planned("prod")


@pytest.fixture(scope="session")
def nonprod_plan() -> Plan:
    return planned("nonprod")


def parse_python(source: str) -> ast.Module:
    """``ast.parse(source)``, shielded from CPython 3.11's spurious "AST constructor recursion
    depth mismatch" SystemError (python/cpython#106905, fixed in later releases): the AST
    conversion's depth counter is interpreter-wide, so a nested conversion upsets it. One
    comes from the cyclic collector running inside the conversion: it finalizes an asyncio
    future a refused plan left ("exception was never retrieved"), whose logged traceback
    parses source lines with ``ast`` for its carets. No collection runs inside the
    conversion here, and a spurious error is retried."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            return ast.parse(source)
        except SystemError:
            return ast.parse(source)
    finally:
        if collecting:
            gc.enable()

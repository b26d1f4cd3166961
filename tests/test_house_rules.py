"""Rules the tests themselves keep, checked on their source."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import parse_python

TESTS = sorted(Path(__file__).parent.glob("test_*.py"))


def loops_over_of_type(tree: ast.AST) -> list[int]:
    """Lines where a `for` statement, or an `all(...)` over a generator, iterates
    `<plan>.of_type(...)`: both pass when the type has disappeared from the plan."""
    iterables: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.For):
            iterables.append(node.iter)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "all"
            and node.args
            and isinstance(node.args[0], ast.GeneratorExp)
        ):
            iterables += [g.iter for g in node.args[0].generators]
    return [
        it.lineno
        for it in iterables
        if isinstance(it, ast.Call)
        and isinstance(it.func, ast.Attribute)
        and it.func.attr == "of_type"
    ]


def test_a_check_of_each_resource_of_a_type_first_requires_some() -> None:
    """`plan.every(TYPE)` fails on an empty plan; `plan.of_type(TYPE)` is for "there is none"."""
    assert len(TESTS) > 10
    found = {
        path.name: lines
        for path in TESTS
        if (lines := loops_over_of_type(parse_python(path.read_text())))
    }
    assert not found, f"loop over plan.every(...) instead: {found}"


def test_the_rule_can_fail() -> None:
    code = "def test_x(plan):\n    for r in plan.of_type('T'):\n        assert r\n"
    assert loops_over_of_type(ast.parse(code)) == [2]
    code = "def test_y(plan):\n    assert all(r.ok for r in plan.of_type('T'))\n"
    assert loops_over_of_type(ast.parse(code)) == [2]
    assert loops_over_of_type(ast.parse("for r in plan.every('T'):\n    pass\n")) == []

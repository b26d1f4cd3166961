"""The Python in README.md and docs/ runs: a snippet that drifts from the API fails here.

Every ```python block of a Markdown file is executed, in order, in one namespace per file,
inside one offline Pulumi run under the platform's mocks (so a block may build components
and use names an earlier block of the same file defined). A block preceded by the line
``<!-- snippet: not run (<why>) -->`` is skipped; the reason is required.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from components.testing import run_offline

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.S)
_SKIP = re.compile(r"<!-- snippet: not run \((?P<why>[^)]+)\) -->")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block not marked as not run."""
    blocks = []
    for match in _BLOCK.finditer("\n" + text):
        if _SKIP.search(match.group("before")):
            continue
        line = text[: match.start("code")].count("\n") + 1
        blocks.append((line, textwrap.dedent(match.group("code"))))
    return blocks


def test_the_docs_have_snippets_to_run() -> None:
    files = [doc.name for doc in DOCS if python_blocks(doc.read_text())]
    assert "README.md" in files
    assert len(files) >= 4, files


def test_a_broken_snippet_fails() -> None:
    text = "intro\n```python\nfrom components import NoSuchThing\n```\n"
    ((line, code),) = python_blocks(text)
    with pytest.raises(ImportError):
        exec(compile(code, f"snippet:{line}", "exec"), {})


def test_a_skipped_block_needs_a_reason() -> None:
    text = "<!-- snippet: not run (needs AWS) -->\n```python\nraise SystemExit\n```\n"
    assert python_blocks(text) == []
    assert python_blocks("<!-- snippet: not run () -->\n```python\nx = 1\n```\n") != []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_python_snippet_runs(doc: Path) -> None:
    blocks = python_blocks(doc.read_text())
    if not blocks:
        pytest.skip(f"{doc.name} has no Python snippets")
    namespace: dict[str, object] = {"__name__": f"snippets_of_{doc.stem}"}

    def program() -> None:
        for line, code in blocks:
            exec(compile(code, f"{doc.name}:{line}", "exec"), namespace)

    run_offline(program)

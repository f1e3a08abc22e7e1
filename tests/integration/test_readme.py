"""The README's example runs as written (in a fresh store)."""

from __future__ import annotations

import re
from pathlib import Path

import flowstone_nb as fs

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has a python example"
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(blocks[0], str(README), "exec"), namespace)  # our own README
    assert fs.status()["revenue"] == "fresh"
    assert {e.asset for e in fs.lineage("revenue").upstream} == {"orders"}


def test_the_readme_checks_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    [example] = [block for block in blocks if "@fs.check(" in block]
    namespace: dict[str, object] = {"__name__": "readme_checks"}
    exec(compile(example, str(README), "exec"), namespace)  # our own README
    result = namespace["result"]
    assert [(p.partition, p.status) for p in result.partitions] == [  # type: ignore[attr-defined]
        ("north", "computed"),
        ("south", "failed"),
    ]
    outcomes = fs.checks("sales")
    failing = outcomes[~outcomes.passed]
    assert sorted(failing.check) == ["no_negative_amounts"]
    assert failing.message.tolist() == ["1 negative amount(s)"]
    assert fs.status()["sales"] == {"north": "fresh", "south": "failed"}

"""How the command line speaks: JSON, tables, progress lines and errors.

With ``--json`` standard output carries exactly one JSON document and nothing else. Otherwise
standard output carries the result (a table drawn by ``rich``) and standard error the progress
(one line per finished asset or partition, only on a terminal) and the failures (always). This
module decides nothing about what runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

__all__ = ["Outcome", "Reporter"]

_GOOD = frozenset({"computed", "reused"})


@dataclass(frozen=True)
class Outcome:
    """How one asset partition ended in a run.

    Attributes
    ----------
    asset, partition
        Which (the partition as the user writes it; ``""`` when unpartitioned).
    outcome
        ``"computed"``, ``"reused"``, ``"failed"``, ``"skipped"`` or ``"cancelled"``.
    duration
        Seconds spent computing it.
    error
        What went wrong, when it did.
    """

    asset: str
    partition: str
    outcome: str
    duration: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the partition is fresh now."""
        return self.outcome in _GOOD

    @property
    def label(self) -> str:
        """``asset`` or ``asset[partition]``."""
        return f"{self.asset}[{self.partition}]" if self.partition else self.asset


class Reporter:
    """Writes one command's output to standard output and standard error."""

    def __init__(
        self, *, json_output: bool, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.json_output = json_output
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def _console(self, stream: TextIO) -> Any:
        from rich.console import Console

        wide = None if stream.isatty() else 200
        return Console(file=stream, width=wide, highlight=False, soft_wrap=False)

    def error(self, message: str) -> None:
        """Say what went wrong, on standard error."""
        print(f"flowstone: error: {message}", file=self.err)

    def note(self, message: str) -> None:
        """A line for the person at the terminal (standard error)."""
        if not self.json_output:
            print(message, file=self.err)

    def progress(self, outcome: Outcome) -> None:
        """One line per finished asset or partition, on a terminal only."""
        if self.json_output or not self.err.isatty():
            return
        timing = f" in {outcome.duration:.2f} s" if outcome.outcome == "computed" else ""
        print(f"  {outcome.label}: {outcome.outcome}{timing}", file=self.err, flush=True)

    def text(self, text: str) -> None:
        """Plain text on standard output."""
        print(text, file=self.out)

    def document(self, document: Any) -> None:
        """One JSON document on standard output."""
        json.dump(document, self.out, indent=2, default=str)
        self.out.write("\n")

    def table(
        self, document: Any, headers: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """``document`` as JSON with ``--json``, else a table of ``rows``."""
        if self.json_output:
            self.document(document)
            return
        from rich.table import Table

        table = Table(*headers, show_edge=False, header_style="bold")
        for row in rows:
            table.add_row(*("" if cell is None else str(cell) for cell in row))
        self._console(self.out).print(table)

    def outcomes(self, command: str, results: Sequence[Outcome]) -> None:
        """The end of a run: every outcome, the failures named on standard error."""
        ok = all(r.ok for r in results)
        for failed in (r for r in results if not r.ok):
            print(f"flowstone: {failed.label} {failed.outcome}: {failed.error}", file=self.err)
        if self.json_output:
            self.document({"command": command, "ok": ok, "results": [asdict(r) for r in results]})
            return
        counts: dict[str, int] = {}
        for result in results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        rows = [
            [r.asset, r.partition, r.outcome, f"{r.duration:.2f} s", r.error or ""] for r in results
        ]
        self.table(None, ["asset", "partition", "outcome", "duration", "error"], rows)
        summary = ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) or "nothing run"
        print(summary, file=self.out)

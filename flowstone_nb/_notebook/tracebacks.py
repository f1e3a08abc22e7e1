"""How a failed materialization shows in IPython: the user's frames and the error, nothing else.

A :class:`~flowstone_nb.MaterializationError` travels from the user's function through the
engine (runner, scheduler, ``fs.materialize``) back to the cell. Shown as Python shows it, the
engine's frames come first and bury the two places that matter: the line of the user's function
that raised, and the cell line that asked for the run. :func:`install` gives IPython a handler
for this one error (``shell.set_custom_exc``) that shows the same exceptions with those frames
only: the cause's traceback from its first frame of user code, the error's own traceback
without flowstone_nb's and IPython's frames. The exceptions themselves are left as they were,
so ``%tb`` and ``%debug`` still see every frame, and the catalog keeps the whole traceback
(``fs.history``). Which files are not the user's is one rule,
:func:`~flowstone_nb._define.definition_site.is_library_file`, which warnings follow too.

The magics run inside :func:`usage_errors`, which turns the library's errors into IPython's
one-line ``UsageError`` and starts a user error's cause at the cell's own frame.

This module is imported by the extension only, when IPython runs; it imports IPython only when
a magic reports a usage error.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from flowstone_nb._core.errors import FlowstoneError, MaterializationError
from flowstone_nb._define.definition_site import is_library_file

__all__ = [
    "first_user_frame",
    "install",
    "one_line",
    "show_materialization_error",
    "usage_errors",
    "user_frames",
]


def _is_library(entry: TracebackType) -> bool:
    return is_library_file(entry.tb_frame.f_code.co_filename)


def first_user_frame(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from its first frame of user code on (``None`` when it has none)."""
    while tb is not None and _is_library(tb):
        tb = tb.tb_next
    return tb


def user_frames(tb: TracebackType | None) -> TracebackType | None:
    """A new traceback of the user's frames of ``tb``, in order (``None`` when it has none)."""
    kept: list[TracebackType] = []
    while tb is not None:
        if not _is_library(tb):
            kept.append(tb)
        tb = tb.tb_next
    chain: TracebackType | None = None
    for entry in reversed(kept):
        chain = TracebackType(chain, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return chain


def show_materialization_error(
    shell: Any,
    kind: type[BaseException],
    error: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> None:
    """Show ``error`` in ``shell`` with the user's frames only (IPython's custom handler).

    The cause (the user's exception) is shown from its first frame of user code, when it has
    one (an error raised by flowstone_nb itself keeps its frames); the error's own traceback
    keeps the cell's and other user frames. ``sys.last_traceback`` stays the whole one.
    """
    del tb_offset  # the cell's own frame is the first one kept: nothing is left to skip
    cause = error.__cause__
    whole = cause.__traceback__ if cause is not None else None
    start = first_user_frame(whole)
    try:
        if cause is not None and start is not None:
            cause.__traceback__ = start
        shell.showtraceback((kind, error, user_frames(tb)), tb_offset=0)
    finally:
        if cause is not None:
            cause.__traceback__ = whole
    sys.last_type, sys.last_value, sys.last_traceback = kind, error, tb


def install(shell: Any) -> None:
    """Show materialization errors short in ``shell`` (idempotent).

    A shell that already has a custom exception handler (someone else's) keeps it.
    """
    if getattr(shell, "custom_exceptions", ()):
        return  # ours already, or another extension's
    shell.set_custom_exc((MaterializationError,), show_materialization_error)


# -- errors of the magics -------------------------------------------------------------------------


class _UsageErrors:
    """Turn library errors into one-line ``UsageError`` messages; let user-code errors through.

    A user-code error is shown without the engine's frames, and the traceback of its cause (the
    user's exception) starts at the first notebook-cell frame, so nothing buries the cell's line.
    The catalog keeps the full traceback (``fs.history``). (A class, not ``@contextmanager``:
    that one would put the engine's frames back when the same exception passes through.)
    """

    def __enter__(self) -> None:
        """Start watching."""

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: object
    ) -> None:
        """Translate a library error; trim a user-code error's traceback; never swallow."""
        __tracebackhide__ = True  # IPython leaves this frame out of tracebacks
        if isinstance(error, MaterializationError):
            _start_at_cell(error.__cause__ or error)
            error.__traceback__ = None  # frames from here up are added back as it propagates
        elif isinstance(error, FlowstoneError):
            from IPython.core.error import UsageError  # (IPython runs: a magic is running)

            notes = getattr(error, "__notes__", ())
            raise UsageError(one_line("\n".join([str(error), *notes]))) from None


def usage_errors() -> _UsageErrors:
    """A context manager: library errors become ``UsageError``, user errors keep their cell."""
    return _UsageErrors()


def _start_at_cell(error: BaseException) -> None:
    from flowstone_nb._define.cell_function import CELL_FILE_PREFIX  # (a magic is running)

    start = first_user_frame(error.__traceback__)
    if start is not None and start.tb_frame.f_code.co_filename.startswith(CELL_FILE_PREFIX):
        error.__traceback__ = start


def one_line(message: str) -> str:
    """A multi-line message (a title and a list of issues) as one line."""
    lines = [line.strip().removeprefix("- ") for line in message.splitlines() if line.strip()]
    if len(lines) <= 1:
        return "".join(lines)
    return f"{lines[0]} {'; '.join(lines[1:])}"

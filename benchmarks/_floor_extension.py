"""The floor of ``%load_ext``: an IPython extension that registers one trivial line magic."""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ip: Any) -> None:
    """Register one line magic, the least an extension with magics does."""
    from IPython.core.magic import Magics, line_magic, magics_class

    @magics_class
    class FloorMagics(Magics):
        @line_magic
        def floor(self, line: str) -> str:
            return line

    ip.register_magics(FloorMagics(shell=ip))

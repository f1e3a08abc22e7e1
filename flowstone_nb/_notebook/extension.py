"""The IPython extension: ``%load_ext flowstone_nb``, and the views a kernel shows.

Loading registers the ``%%asset``, ``%%check`` and ``%flowstone`` magics (with their ``%config``
settings, see :class:`~flowstone_nb._notebook.magics.FlowstoneMagics`), installs cell tracking,
which records the front end's cell id before each execution so a re-run cell replaces its own
assets, and installs the views (:func:`install_views`), which include the short traceback of a
failed materialization (:mod:`~flowstone_nb._notebook.tracebacks`). Loading twice changes nothing.
Unloading removes the magics and their settings object; cell tracking and the views stay, as
``@fs.asset`` cells and ``fs.status()`` rely on them without the magics, and ``import
flowstone_nb`` inside a running kernel installs both too. This module imports IPython only inside
these functions, which IPython calls once it is running.
"""

from __future__ import annotations

from typing import Any

from flowstone_nb._define.definition_site import install_cell_tracking
from flowstone_nb._notebook import progress, tracebacks, views

__all__ = ["install_views", "load_ipython_extension", "unload_ipython_extension"]

_MAGICS = "FlowstoneMagics"


def install_views(shell: Any) -> None:
    """Show results, backfills and failed materializations as a notebook shows them (idempotent).

    Results show as widgets, backfills with a progress widget, and a failed materialization
    with a short traceback (the user's frames and the error); in a Jupyter kernel, cells that
    define assets end with live status lines (:mod:`~flowstone_nb._notebook.live_status`).

    Parameters
    ----------
    shell
        The running ``InteractiveShell``.
    """
    views.install(shell)
    progress.install()
    tracebacks.install(shell)
    if getattr(shell, "kernel", None) is not None:  # a terminal cannot update what it printed
        from flowstone_nb._notebook import live_status

        live_status.install(shell)


def load_ipython_extension(ip: Any) -> None:
    """Register the flowstone_nb magics, cell tracking and views in the IPython shell ``ip``.

    Parameters
    ----------
    ip
        The running ``InteractiveShell``.
    """
    install_cell_tracking(ip)
    install_views(ip)
    if _MAGICS in ip.magics_manager.registry:
        return
    from flowstone_nb._notebook.magics import FlowstoneMagics

    # The Magics constructor adds the instance to ip.configurables (for %config) and reads the
    # shell's config, so `c.FlowstoneMagics.home = ...` in ipython_config.py applies too.
    ip.register_magics(FlowstoneMagics(shell=ip))


def unload_ipython_extension(ip: Any) -> None:
    """Remove the flowstone_nb magics and their ``%config`` object from ``ip`` (idempotent).

    Parameters
    ----------
    ip
        The running ``InteractiveShell``.
    """
    manager = ip.magics_manager
    magics = manager.registry.pop(_MAGICS, None)
    if magics is None:
        return
    for kind, names in magics.magics.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    ip.configurables[:] = [c for c in ip.configurables if c is not magics]

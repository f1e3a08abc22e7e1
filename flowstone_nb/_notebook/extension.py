"""The IPython extension: ``%load_ext flowstone_nb``.

Loading registers the ``%%asset`` and ``%flowstone`` magics (with their ``%config`` settings, see
:class:`~flowstone_nb._notebook.magics.dispatch.FlowstoneMagics`) and installs cell
tracking, which records the front end's cell id before each execution so a re-run cell replaces its
own assets. Loading twice changes nothing. Unloading removes the magics and their settings object;
cell tracking stays, as ``@fs.asset`` in notebook cells relies on it too and it only records an id.
This module imports IPython only inside these functions, which IPython calls once it is running.
"""

from __future__ import annotations

from typing import Any

from flowstone_nb._define.definition_site import install_cell_tracking

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

_MAGICS = "FlowstoneMagics"


def load_ipython_extension(ip: Any) -> None:
    """Register the flowstone_nb magics and cell tracking in the IPython shell ``ip``.

    Parameters
    ----------
    ip
        The running ``InteractiveShell``.
    """
    install_cell_tracking(ip)
    if _MAGICS in ip.magics_manager.registry:
        return
    from flowstone_nb._notebook.magics.dispatch import FlowstoneMagics

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

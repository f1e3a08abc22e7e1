"""A real JupyterLab server for the browser tests: started, asked over REST, stopped.

:func:`start_lab` runs ``python -m jupyterlab`` from this virtualenv on 127.0.0.1 with a free port,
a random token, a temporary root, a fresh workspace and settings folder, and Jupyter and IPython
config, data and runtime folders of its own, so nothing from the machine's profile leaks in. It
waits for ``/api/status`` with a bounded loop that paces itself on the server process (never on a
sleep). :func:`stop_lab` deletes the sessions (their kernels shut down) and terminates the
server's process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Seconds JupyterLab may take to answer ``/api/status`` (it takes 2-4 s here).
START_TIMEOUT = 90.0
#: Seconds the server may take to shut down after SIGTERM before it is killed.
STOP_TIMEOUT = 30.0

#: Lab settings for a quiet, offline page (no news or update checks) that starts the notebook's
#: kernel without asking (a fresh notebook would otherwise open the "Select Kernel" dialog).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
    },
}


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab server.

    Attributes
    ----------
    base_url
        ``http://127.0.0.1:<port>``.
    token
        The server token.
    root
        The folder the server serves (notebooks are copied into it).
    log
        The server's combined stdout and stderr.
    process
        The ``jupyter lab`` process (leader of its own process group).
    """

    base_url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen[bytes]

    def notebook_url(self, relative: str) -> str:
        """The Lab URL opening ``relative`` in a reset workspace."""
        path = urllib.parse.quote(relative)
        return f"{self.base_url}/lab/tree/{path}?reset&token={self.token}"

    def api(self, method: str, path: str, *, timeout: float = 30.0) -> Any:
        """Call the REST API; returns the decoded JSON body (``None`` when empty)."""
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def delete_sessions(self) -> list[str]:
        """Delete every session (each shuts its kernel down); returns their notebook paths."""
        sessions = self.api("GET", "/api/sessions")
        for session in sessions:
            self.api("DELETE", f"/api/sessions/{session['id']}")
        return [str(session.get("path", "")) for session in sessions]

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log, for failure messages."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _write_settings(folder: Path) -> None:
    for relative, values in SETTINGS.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")


def _environment(home: Path) -> dict[str, str]:
    """This process's environment with private Jupyter and IPython folders under ``home``."""
    env = dict(os.environ)
    for name, folder in (
        ("JUPYTER_CONFIG_DIR", "jupyter-config"),
        ("JUPYTER_DATA_DIR", "jupyter-data"),
        ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        path = home / folder
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return env


def _command(port: int, token: str, root: Path, home: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
    ]


def start_lab(home: Path) -> LabServer:
    """Start JupyterLab with everything it writes under ``home``; return once it answers.

    Raises
    ------
    RuntimeError
        When the server exits or does not answer ``/api/status`` within :data:`START_TIMEOUT`
        seconds; the message carries the end of its log.
    """
    root = home / "root"
    root.mkdir(parents=True)
    _write_settings(home / "settings")
    (home / "workspaces").mkdir()
    log = home / "jupyter-lab.log"
    port, token = free_port(), secrets.token_hex(16)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _command(port, token, root, home),
            cwd=root,
            env=_environment(home),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log, process)
    try:
        wait_until_ready(server)
    except BaseException:
        stop_lab(server)
        raise
    return server


def _answers(server: LabServer) -> bool:
    try:
        server.api("GET", "/api/status", timeout=2.0)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    return True


def wait_until_ready(server: LabServer, timeout: float = START_TIMEOUT) -> None:
    """Poll ``/api/status`` until it answers, pacing on the server process (which must live)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(server):
            return
        try:
            code = server.process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(
            f"jupyter lab exited with code {code} before answering /api/status. "
            f"Its log ({server.log}) ends with:\n{server.log_tail()}"
        )
    raise RuntimeError(
        f"jupyter lab did not answer {server.base_url}/api/status within {timeout:.0f} s. "
        f"Its log ({server.log}) ends with:\n{server.log_tail()}"
    )


def stop_lab(server: LabServer) -> None:
    """Delete the sessions, then SIGTERM the server's process group (SIGKILL if it hangs)."""
    if server.process.poll() is None:
        # If this fails the server is going down anyway, and SIGTERM stops its kernels.
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
            server.delete_sessions()
    _signal_group(server.process, signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _signal_group(server.process, signal.SIGKILL)
        server.process.wait(timeout=STOP_TIMEOUT)


def _signal_group(process: subprocess.Popen[bytes], number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, number)

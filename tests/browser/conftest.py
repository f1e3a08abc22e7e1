"""Fixtures of the browser tests: one JupyterLab server and one Chromium for the session.

``lab`` starts JupyterLab (see :mod:`tests.browser.server`); ``browser`` launches the ``chromium``
found on PATH through Playwright's bundled driver with a fresh user-data folder (Playwright never
downloads a browser here). Without Chromium or Playwright the tests skip with the reason, except
when the ``CI`` environment variable is set: there a missing browser is a failure.
``notebook_run`` (parametrized by the test module) copies one notebook without its outputs into
the server root, opens it in a new page, runs all cells through the menu, saves it, and deletes
its session afterwards, so every notebook gets a fresh kernel.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .expectations import REPO, Expected, expected
from .server import LabServer, start_lab, stop_lab

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from .lab_page import NotebookPage

#: Chromium flags: headless, no sandbox (root in a container), and no traffic of its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1400, "height": 1000}
#: Where screenshots go: one folder per notebook (and per worker under pytest-xdist).
SCREENSHOTS = REPO / "artifacts" / "screenshots" / os.environ.get("PYTEST_XDIST_WORKER", "")


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail in CI, where the browser tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests cannot be skipped)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The ``chromium`` executable on PATH."""
    path = shutil.which("chromium")
    if path is None:
        unavailable(
            "No `chromium` on PATH: install it (Debian/Ubuntu: `apt-get install chromium "
            "fonts-dejavu-core`, or `make system-deps` as root) to run the browser tests."
        )
    return path


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server for the whole session, stopped (with its kernels) at the end."""
    server = start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        stop_lab(server)


@pytest.fixture(scope="session")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile, driven by Playwright, for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]},
        )
        try:
            yield context
        finally:
            context.close()


def stripped(notebook: Path) -> dict[str, Any]:
    """``notebook`` without outputs, execution counts or saved widget state.

    Saved outputs would show before anything runs (widgets then render "disconnected"), so the
    tests start from a clean notebook and everything they see comes from this run.
    """
    content: dict[str, Any] = json.loads(notebook.read_text(encoding="utf-8"))
    content.get("metadata", {}).pop("widgets", None)
    for cell in content["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return content


@dataclass(frozen=True)
class NotebookRun:
    """A notebook after Run All Cells in JupyterLab.

    Attributes
    ----------
    notebook
        The notebook in the repository.
    lab
        The page showing it.
    state
        ``"done"`` (every cell ran) or ``"stopped"`` (a cell failed and Lab stopped).
    saved
        The notebook as JupyterLab saved it after the run.
    expected
        What it must show.
    """

    notebook: Path
    lab: NotebookPage
    state: str
    saved: dict[str, Any]
    expected: Expected


def _copy_into(server: LabServer, notebook: Path) -> str:
    """Copy the stripped notebook into a folder of its own (its own ``.flowstone``)."""
    folder = server.root / notebook.stem
    folder.mkdir(exist_ok=True)
    (folder / notebook.name).write_text(json.dumps(stripped(notebook), indent=1), "utf-8")
    return f"{notebook.stem}/{notebook.name}"


@pytest.fixture(scope="module")
def notebook_run(
    request: pytest.FixtureRequest, browser: BrowserContext, lab: LabServer
) -> Iterator[NotebookRun]:
    """The notebook ``request.param`` run through JupyterLab's UI on a fresh kernel."""
    from .lab_page import NotebookPage

    notebook: Path = request.param
    shutil.rmtree(SCREENSHOTS / notebook.stem, ignore_errors=True)  # only this run's pictures
    page = browser.new_page()
    view = NotebookPage(page, lab, _copy_into(lab, notebook), SCREENSHOTS / notebook.stem)
    try:
        view.open()
        state = view.run_all()
        view.wait_for_widgets()
        saved = view.save()
        view.shot("after-run-all")
    except Exception:
        with contextlib.suppress(Exception):  # the original error matters more than the picture
            view.shot("fixture-failure")
        _close(page, lab)
        raise
    try:
        yield NotebookRun(notebook, view, state, saved, expected(notebook))
    finally:
        _close(page, lab)


def _close(page: Page, server: LabServer) -> None:
    """Close the page, then delete its session so the next notebook gets a fresh kernel."""
    page.close()
    server.delete_sessions()

"""What every flowstone_nb widget shares: three renderings of one object.

A :class:`WidgetView` owns a tree of ipywidgets (``.widget``) and also renders itself as static
HTML and as text, so Jupyter shows the live widget while nbconvert, GitHub and terminals show the
fallbacks from the same display call. This module must not import ipywidgets at top level (the
subclasses import it when they build their tree) and must not compute any status or lineage.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WidgetView"]


class WidgetView:
    """A view with a live widget, an HTML fallback and a text fallback.

    Subclasses set ``widget`` (the root ipywidget) and implement :meth:`to_html` and
    :meth:`to_text`. Displaying the view sends all three; the front end picks the best it can
    show.
    """

    widget: Any

    def to_html(self) -> str:
        """Static HTML of the current state (every user string escaped)."""
        raise NotImplementedError

    def to_text(self) -> str:
        """Plain text of the current state."""
        raise NotImplementedError

    def _repr_mimebundle_(
        self, include: object = None, exclude: object = None, **kwargs: object
    ) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = self.to_text()
        return bundle

    def __repr__(self) -> str:
        return self.to_text()

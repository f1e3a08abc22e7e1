"""The bottom layer: what every other layer shares, and nothing that belongs to one of them.

Errors, states and their colours (``states``), events and a backfill's progress announcements
(``events``, ``progress``), HTML and text helpers (``html``), the redraw throttle (``throttle``),
the running shell (``shell``) and the IO manager name table. Every other layer may import it; it
imports nothing of flowstone_nb outside itself.
"""

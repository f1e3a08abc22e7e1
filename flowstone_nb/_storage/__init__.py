"""The embedded store: settings, IO managers that write values, and the SQLite catalog.

Storage knows no run and no notebook.
"""

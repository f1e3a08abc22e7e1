"""The notebook surface: the extension, magics, views, widgets and the drawn graph.

The top layer: it may import every other layer, and none imports it. Lower layers never pick a
widget: results render their own text and HTML, and runs announce progress as events; here
:mod:`.views` decides which widget shows which result and :mod:`.progress` answers a backfill's
announcements. Both are installed by ``%load_ext flowstone_nb``, and by ``import flowstone_nb``
inside a running kernel (the package's facade stands above every layer).
"""

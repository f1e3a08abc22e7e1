"""The notebook surface: the extension, magics, views, widgets and the drawn graph.

The top layer: it may import every other layer, and none imports it.
"""

"""The ``flowstone`` command line: a notebook's assets run and inspected without a kernel.

The top layer, beside the notebook: it may import every other layer, and none imports it.
"""

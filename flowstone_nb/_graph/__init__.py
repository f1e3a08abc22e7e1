"""The pure DAG: nodes, edges, order, closures and cycles, on names only.

No IPython, Graphviz, widgets or IO; only ``_core`` below it.
"""

"""ipywidgets views of plain results: status grid, lineage, history and progress."""

"""Questions asked of the catalog: status, lineage, impact, history, as plain data.

Queries return data and never render: the notebook layer picks the view.
"""

"""The bottom layer: errors, events, HTML helpers and the IO manager name table.

Every other layer may import it; it imports nothing of flowstone_nb.
"""

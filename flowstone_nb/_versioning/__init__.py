"""Automatic code versions: a hash of a function's normalised code and what it uses.

It works on functions and code objects only; it knows no asset, store or run.
"""

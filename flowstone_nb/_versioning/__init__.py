"""Automatic code versions: a hash of a function's normalised code and what it uses.

``code_versions`` is the entry point (:func:`code_version`, :func:`code_versions`,
:func:`source_version`); ``bytecode`` digests normalised code objects, ``resolver`` follows the
helpers, constants and defaults a version depends on, ``cell_source`` and ``free_names`` read
cells given as text, ``cache`` bounds what is remembered, ``self_contained`` recognises functions
that read nothing but their arguments. It works on functions, code objects and cell text only; it
knows no asset, store or run, and never runs user code.
"""

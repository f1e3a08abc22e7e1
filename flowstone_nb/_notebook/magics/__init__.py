"""The ``%%asset`` and ``%flowstone`` magics: line parsing and a thin dispatcher."""

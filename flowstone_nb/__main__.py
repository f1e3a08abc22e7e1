"""``python -m flowstone_nb``: the ``flowstone`` command line."""

from flowstone_nb._cli.main import run

run()

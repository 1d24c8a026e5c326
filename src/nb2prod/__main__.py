"""``python -m nb2prod`` — the same as the ``nb2prod`` command."""

from nb2prod.cli import entry

entry()

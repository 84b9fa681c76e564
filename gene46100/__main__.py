"""``python -m gene46100``: the same as the ``gene46100`` command."""

from gene46100.cli import entry

entry()

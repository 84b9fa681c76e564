"""``python -m gene46100``: the same as the ``gene46100`` command."""

import sys

from gene46100.cli import main

sys.exit(main())

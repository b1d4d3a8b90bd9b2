"""``python -m cosim``: the same as the ``cosim`` command."""

import sys

from .cli import main

sys.exit(main())

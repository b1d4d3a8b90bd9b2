"""Child entry point of a sweep: ``python -P -m cosim.sweep PARENT_PID run ...``.

See :func:`cosim.sweep.run.child_main`; started by :func:`cosim.sweep.run.run_variant`.
"""

from __future__ import annotations

import sys

from .run import child_main

if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))

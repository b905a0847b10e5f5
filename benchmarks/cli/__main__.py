"""``python -m benchmarks.cli``: the ``loadbench`` command."""

import sys

from benchmarks.cli import main

sys.exit(main())

"""``python -m loadbench``: the ``loadbench`` command."""

import sys

from loadbench.cli import main

sys.exit(main())

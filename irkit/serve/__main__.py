"""``python -m irkit.serve MODEL [options]``: the model server, as ``irkit serve`` runs it."""

import sys

from irkit.serve.main import main

sys.exit(main())

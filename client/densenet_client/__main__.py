"""``python -m densenet_client``: the ``densenet-client`` CLI."""

import sys

from .cli import main

sys.exit(main())

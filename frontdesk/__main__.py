"""Run the front-desk command line: `python -m frontdesk --help`."""

import sys

from frontdesk.cli import main

sys.exit(main())

"""``python -m visiondata`` runs the command line."""

from visiondata.cli import main

raise SystemExit(main())

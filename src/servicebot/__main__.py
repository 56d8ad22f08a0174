"""Lets `python -m servicebot` behave exactly like the `servicebot` console script."""

from servicebot.cli import main

raise SystemExit(main())

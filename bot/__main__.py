"""`python -m bot` is the `palmbot` command."""

from bot.cli import main

raise SystemExit(main())

"""`python -m bot` is the `palmbot` command."""

from bot.ops.cli import main

raise SystemExit(main())

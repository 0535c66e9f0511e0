"""`python -m dae_tui` is the `dae-tui` command."""

from .cli import main

raise SystemExit(main())

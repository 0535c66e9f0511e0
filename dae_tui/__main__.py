"""`python -m dae_tui` is the `dae-tui` command."""

from dae_tui.cli import main

raise SystemExit(main())

"""Run folders on disk without torch: their layout, atomic writes and capped reads, the lock and
heartbeat, reading one run (`info`), a whole runs folder kept up to date (`store`) and the saved
pictures (`samples`). The dashboard, `dae-tui runs` and the sweeps read runs through this package
alone. Imports neither torch, textual, rich nor optuna (CI checks the imports)."""

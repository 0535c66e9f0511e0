"""What every part of dae-tui shares and none may own: the config and its field specs, the engine's
events, formatting. Imports neither torch, textual, rich nor optuna (CI checks the imports)."""

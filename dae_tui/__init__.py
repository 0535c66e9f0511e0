"""dae-tui: train and inspect image-denoising autoencoders from the terminal.

`dae_tui.core` is what every part shares (config, events, formatting), `dae_tui.runs` reads and
writes run folders without torch, `dae_tui.training` trains (torch, no UI), `dae_tui.sweeps` runs
Optuna studies, `dae_tui.cli` is the `dae-tui` command and `dae_tui.ui` the Textual dashboard
(tests/unit/test_boundaries.py checks who imports what). Importing this package imports neither
torch nor textual.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]

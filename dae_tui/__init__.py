"""dae-tui: train and inspect image-denoising autoencoders from the terminal.

`dae_tui.engine` trains (torch, no UI); `dae_tui.ui` is the Textual dashboard; `dae_tui.cli` is
the `dae-tui` command. Importing this package imports neither torch nor textual.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]

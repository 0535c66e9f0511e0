"""The dashboard's tabs that are more than a widget: Images, Inspect, Runs, Sweep, Log."""

from dae_tui.ui.panes.images import ImageBrowser
from dae_tui.ui.panes.log import LogView

__all__ = ["ImageBrowser", "LogView"]

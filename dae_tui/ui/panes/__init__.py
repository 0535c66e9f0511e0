"""The dashboard's tabs that are more than a widget: Images, Inspect, Runs, Sweep, Log.

Only the Images tab's pane is imported here: the others are mounted, and their modules imported,
when their tab is first shown (`DaeApp._mount_tab`), so the first frame does not wait for them."""

from dae_tui.ui.panes.images import ImageBrowser

__all__ = ["ImageBrowser"]

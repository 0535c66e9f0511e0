"""The dashboard's widgets, one a file."""

from dae_tui.ui.widgets.config_form import ConfigForm
from dae_tui.ui.widgets.image_strip import ImageStrip
from dae_tui.ui.widgets.keys_footer import KeysFooter
from dae_tui.ui.widgets.loss_chart import LossChart
from dae_tui.ui.widgets.run_status import STATES, RunStatus

__all__ = ["STATES", "ConfigForm", "ImageStrip", "KeysFooter", "LossChart", "RunStatus"]

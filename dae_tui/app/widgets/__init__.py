"""The dashboard's widgets, one a file."""

from .config_form import ConfigForm
from .image_browser import ImageBrowser
from .image_strip import ImageStrip
from .keys_footer import KeysFooter
from .log_view import LogView
from .loss_chart import LossChart
from .run_status import STATES, RunStatus

__all__ = ["STATES", "ConfigForm", "ImageBrowser", "ImageStrip", "KeysFooter", "LogView", "LossChart", "RunStatus"]

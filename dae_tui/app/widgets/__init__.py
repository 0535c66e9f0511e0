"""The dashboard's widgets, one a file."""

from .config_form import ConfigForm
from .image_browser import ImageBrowser, ImageStrip
from .loss_chart import LossChart
from .run_status import STATES, RunStatus

__all__ = ["STATES", "ConfigForm", "ImageBrowser", "ImageStrip", "LossChart", "RunStatus"]

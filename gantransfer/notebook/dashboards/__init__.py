"""The notebooks' ipywidgets dashboards, one module per notebook; every dashboard is importable from here.

* :class:`FeatureMapBrowser` (notebook 01, :mod:`.features`)
* :class:`TextureDashboard` (02) and :class:`StyleTransferDashboard` (03), :mod:`.transfer`
* :class:`FusionDashboard` and :class:`MosaicDashboard` (04), :mod:`.fusion`
* :class:`GanDashboard`, :func:`gan_figure` and :func:`verdict_figure` (05b), :mod:`.gan`

What they share (controls, uploads, the background runner) is in :mod:`.base`.
"""
from gantransfer.notebook.dashboards.base import STYLE_LAYER_CHOICES, UPLOAD_MAX_SIDE, Dashboard, Runner
from gantransfer.notebook.dashboards.evaluation import DistortionExplorer
from gantransfer.notebook.dashboards.features import FeatureMapBrowser
from gantransfer.notebook.dashboards.fusion import FusionDashboard, MosaicDashboard
from gantransfer.notebook.dashboards.gan import GAN_PRESETS, GanDashboard, GanProgress, gan_figure, verdict_figure
from gantransfer.notebook.dashboards.transfer import StyleTransferDashboard, TextureDashboard

__all__ = ["STYLE_LAYER_CHOICES", "UPLOAD_MAX_SIDE", "Dashboard", "Runner", "FeatureMapBrowser", "FusionDashboard",
           "MosaicDashboard", "GAN_PRESETS", "GanDashboard", "GanProgress", "gan_figure", "verdict_figure", "StyleTransferDashboard", "TextureDashboard",
           "DistortionExplorer"]

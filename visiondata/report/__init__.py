"""A dataset health report: statistics, plots, samples with boxes drawn, problems and duplicates, as one HTML page.

``build_report`` writes a self-contained HTML file (inline CSS, inline SVG plots, JPEG thumbnails as ``data:``
URLs; no network request, no script) and optionally the JSON behind it. matplotlib and jinja2 come with the
``report`` extra (``pip install visiondata[report]``).

Examples:
    >>> import visiondata.report as report
    >>> "build_report" in report.__all__
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.report._build import Report, build_report
    from visiondata.report._duplicates import (
        DuplicateGroup,
        DuplicateReport,
        find_duplicates,
        perceptual_hash,
    )
    from visiondata.report._plots import Figure, render_figures
    from visiondata.report._stats import SplitStatistics, collect_statistics

__all__ = [
    "DuplicateGroup",
    "DuplicateReport",
    "Figure",
    "Report",
    "SplitStatistics",
    "build_report",
    "collect_statistics",
    "find_duplicates",
    "perceptual_hash",
    "render_figures",
]

# Loaded on first access: matplotlib, jinja2, PIL and torch are imported only when a report is built.
_LAZY = {
    "build_report": "visiondata.report._build",
    "Report": "visiondata.report._build",
    "collect_statistics": "visiondata.report._stats",
    "SplitStatistics": "visiondata.report._stats",
    "find_duplicates": "visiondata.report._duplicates",
    "DuplicateReport": "visiondata.report._duplicates",
    "DuplicateGroup": "visiondata.report._duplicates",
    "perceptual_hash": "visiondata.report._duplicates",
    "render_figures": "visiondata.report._plots",
    "Figure": "visiondata.report._plots",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)

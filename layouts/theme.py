"""Visual constants: one colour per segment (used by every view), the chart template, sizes."""
from __future__ import annotations

# One colour per segment id (1..10), colour-blind-safe (Tableau 10); every view uses segment_color().
SEGMENT_COLORS = (
    "#4e79a7",  # 1 blue
    "#f28e2b",  # 2 orange
    "#e15759",  # 3 red
    "#59a14f",  # 4 green
    "#b07aa1",  # 5 purple
    "#76b7b2",  # 6 teal
    "#edc948",  # 7 yellow
    "#ff9da7",  # 8 pink
    "#9c755f",  # 9 brown
    "#bab0ac",  # 10 grey
)
UNSELECTED = "#d5d9de"  # customers outside the filter, drawn behind the selection
INK = "#2c3e50"  # Flatly's primary: text, axis titles
MUTED = "#7b8a8b"
ACCENT = "#18bc9c"  # Flatly's success: marks the suggested k
WARNING = "#e67e22"  # marks the chosen k when it differs from the suggested one
FONT = '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'


def segment_color(segment: int) -> str:
    """The colour of segment `segment` (1-based), the same in the scatter, histograms, tables."""
    return SEGMENT_COLORS[(int(segment) - 1) % len(SEGMENT_COLORS)]


# Chart layout shared by every figure (merged into each figure's layout).
CHART_LAYOUT = {
    "font": {"family": FONT, "size": 12, "color": INK},
    "paper_bgcolor": "white",
    "plot_bgcolor": "white",
    "margin": {"l": 56, "r": 16, "t": 32, "b": 48},
    "hoverlabel": {"font": {"family": FONT}},
    "legend": {"orientation": "h", "y": -0.22, "x": 0, "font": {"size": 11}},
    "xaxis": {"gridcolor": "#eef1f3", "zeroline": False, "linecolor": "#c9d1d6"},
    "yaxis": {"gridcolor": "#eef1f3", "zeroline": False, "linecolor": "#c9d1d6"},
}

SCATTER_HEIGHT = 420
ELBOW_HEIGHT = 420
HIST_HEIGHT = 220
PROFILE_ROW_HEIGHT = 40
GRID_HEIGHT = 420

EMPTY_MESSAGE = "No customers match these filters"
NO_RUN_MESSAGE = "This dataset has not been segmented yet: choose features and press Run"

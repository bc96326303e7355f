"""Every colour and colour scheme the charts use, by name: the only module with colour literals.

Okabe–Ito colours (told apart with every common colour-vision deficiency, on light and dark
themes) for categories; the viridis family (perceptually uniform) for magnitudes; a diverging
scheme centred on 0 for signed numbers.
"""

from __future__ import annotations

import numpy as np

# ---- Okabe–Ito, plus a mid grey that reads on light and dark backgrounds alike ----
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#8c8c8c"

# ---- schemes (Vega names) ----
SEQUENTIAL = "viridis"  # weights and shares: dark purple (0) to yellow (high)
VALUES_SCHEME = "cividis"  # values and results on /lookup: dark blue (low) to yellow (high), unlike the weights
VECTOR_SCHEME = "blues"  # the value vector and output of the home page's product diagram
DIVERGING = "redblue"  # signed numbers, centred on 0 (reversed: blue negative, red positive)
LIGHT_HIGH_SCHEMES = frozenset({"viridis", "cividis", "plasma", "inferno", "magma"})  # light at the top end

# ---- roles ----
LINE_COLORS = {"raw": GREY, "Gaussian": BLUE, "content-aware": VERMILLION}  # /smoothing's series
OTHER_LINE_COLOR = BLUISH_GREEN  # a series with none of those names
FOCUS_COLOR = ORANGE  # the focus step: rules, row pointers, outline
POINT_COLOR = GREY  # the series' points under the focus weights
# Bars coloured by viridis get this outline: viridis' dark end vanishes on a dark theme, its light end on a
# light one; mid grey stands out on both.
BAR_OUTLINE = GREY
PART_COLORS = (ORANGE, VERMILLION, REDDISH_PURPLE, BLUE, BLUISH_GREEN, SKY_BLUE, YELLOW, GREY)  # one per value column
SCORE_COLORS = (VERMILLION, BLUISH_GREEN)  # raw q·k, then q·k / √d
OVERVIEW_FRAME = "#ff4b4b"  # the selected head's frame in the all-heads overview
NUMBER_ON_LIGHT, NUMBER_ON_DARK = "black", "white"  # numbers printed in heatmap cells

# Vega's own "viridis" stops (vega-scale), which Vega interpolates linearly in RGB: the overview paints
# its maps as images with these colours, under the legend Vega draws from the same scheme.
_VIRIDIS_STOPS = ("440154470e61481a6c482575472f7d443a834144873d4e8a39568c35608d31688e2d708e2a788e27818e23888e21"
                  "918d1f988b1fa08822a8842ab07f35b77943bf7154c56866cc5d7ad1518fd744a5db36bcdf27d2e21be9e51afde725")
VIRIDIS_RGB = np.array([[int(_VIRIDIS_STOPS[i + j:i + j + 2], 16) for j in (0, 2, 4)]
                        for i in range(0, len(_VIRIDIS_STOPS), 6)], dtype=float)  # (31, 3)
ZERO_COLOR = "#" + _VIRIDIS_STOPS[:6]  # viridis at 0: the colour of weight 0

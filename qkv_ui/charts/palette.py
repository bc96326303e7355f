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

# Vega's own stops (vega-scale, as Streamlit ships it) of the schemes whose cells carry numbers; Vega
# interpolates them linearly in RGB. The overview paints its maps as images with the viridis colours, under
# the legend Vega draws from the same scheme.
SCHEME_STOPS = {
    "viridis": ("440154470e61481a6c482575472f7d443a834144873d4e8a39568c35608d31688e2d708e2a788e27818e23888e21918d"
                "1f988b1fa08822a8842ab07f35b77943bf7154c56866cc5d7ad1518fd744a5db36bcdf27d2e21be9e51afde725"),
    "cividis": ("00205100235800265d002961012b65042e670831690d346b11366c16396d1c3c6e213f6e26426e2c456e31476e374a6e"
                "3c4d6e42506e47536d4c566d51586e555b6e5a5e6e5e616e62646f66676f6a6a706e6d717270717573727976737c7974"
                "7f7c75827f758682768985778c8877908b78938e789691789a94789e9778a19b78a59e77a9a177aea575b2a874b6ab73"
                "bbaf71c0b26fc5b66dc9b96acebd68d3c065d8c462ddc85fe2cb5ce7cf58ebd355f0d652f3da4ff7de4cfae249fce647"),
    "blues": "cfe1f2bed8eca8cee58fc1de74b2d75ba3cf4592c63181bd206fb2125ca40a4a90",
}


def _rgb(stops: str) -> np.ndarray:
    """Hex stops as (n, 3) floats, 0-255."""
    return np.array([[int(stops[i + j:i + j + 2], 16) for j in (0, 2, 4)] for i in range(0, len(stops), 6)],
                    dtype=float)  # (n, 3)


SCHEME_RGB = {scheme: _rgb(stops) for scheme, stops in SCHEME_STOPS.items()}  # low end first
VIRIDIS_RGB = SCHEME_RGB["viridis"]  # (31, 3)


def scheme_color(scheme: str, t) -> np.ndarray:
    """The scheme's colour at t in [0, 1] (clipped) as Vega draws it, its stops blended linearly in RGB:
    float 0-255 channels of shape t.shape + (3,)."""
    rgb = SCHEME_RGB[scheme]  # (n, 3)
    pos = np.clip(np.asarray(t, dtype=float), 0.0, 1.0) * (len(rgb) - 1)
    i = np.minimum(pos.astype(int), len(rgb) - 2)
    f = (pos - i)[..., None]
    return rgb[i] * (1 - f) + rgb[i + 1] * f


def _number_flip_at(scheme: str) -> float:
    """Where along the scheme (0 low, 1 high) printed numbers switch between black and white.

    At the colour of relative luminance 0.179 black and white text have the same contrast, sqrt(21) = 4.58:1;
    everywhere else the chosen one has more, so every number reaches WCAG's 4.5:1 for small text. (Switching
    halfway instead left numbers at 3.8:1 on viridis and 2.8:1 on blues.)
    """
    t = np.linspace(0.0, 1.0, 4001)
    c = scheme_color(scheme, t) / 255  # (4001, 3)
    luminance = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) @ [0.2126, 0.7152, 0.0722]
    return float(t[np.argmin(np.abs(luminance - 0.179))])


NUMBER_FLIP_AT = {scheme: _number_flip_at(scheme) for scheme in SCHEME_STOPS}
ZERO_COLOR = "#" + SCHEME_STOPS["viridis"][:6]  # viridis at 0: the colour of weight 0

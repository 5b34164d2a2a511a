#!/usr/bin/env python3
"""Render the benchmark's SVG plots to PNG (optional; needs cairosvg)."""
import sys

import cairosvg

for svg in sys.argv[1:]:
    cairosvg.svg2png(url=svg, write_to=svg[:-4] + ".png", output_width=1350)

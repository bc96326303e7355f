"""Cold-start shim for a deep link: runs the full app frame (see qkv_ui/frame.py)."""

from qkv_ui.frame import run

run()

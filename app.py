"""QKV Explainer: entrypoint. The frame (page config, navigation, sidebar) is in qkv_ui/frame.py."""

from qkv_ui.frame import run

run()

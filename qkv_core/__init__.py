"""qkv_core: the computation behind QKV Explainer.

Pure numpy / scipy / torch: arrays in, arrays and frozen result objects out.
This package never imports streamlit (tests/test_core_isolation.py guards that).
"""

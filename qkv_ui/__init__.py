"""qkv_ui: Streamlit-side helpers (page registry, cached resources, chart builders)."""

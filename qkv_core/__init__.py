"""qkv_core: the computation behind QKV Explainer.

Pure numpy / scipy / torch: arrays in, arrays and frozen result objects out.
This package never imports streamlit (tests/test_core_isolation.py guards that).

Modules, by idea:

    numerics    the one softmax, entropy (nats) and finite mask every module uses
    checks      input checks for the public entry points
    attention   scaled dot-product attention with every stage kept; split_heads / merge_heads
    encoder     a from-scratch BERT encoder that traces every intermediate
    steps       one head step by step (one query, then matrices); the what-if toggles
    patterns    what each head does; one layer's heads side by side, and joined
    vectors     one word followed through the layers, in two texts
    scaling     why scores are divided by √d: random vectors and the real model
    heads       attention maps shrunk for display; one query's top keys
    matrix      block averages and windows for big matrices
    smoothing   Gaussian and content-aware smoothing as weight matrices
    series      series to smooth: synthetic, the shipped CO₂ record, CSV uploads
    retrieval   dict lookup versus soft attention retrieval
    store       the /lookup store: presets, a user-edited table, a store in a link
"""

"""Hostile inputs for the pages: the corpus (``corpus.py``) is data; the tests that use it live beside it."""

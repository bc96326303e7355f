"""The page registry: script paths, titles and the public URL paths of the story."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """One page of the app: where its script lives and where it is served."""

    script: str  # path relative to the repository root (the entrypoint's folder)
    title: str
    icon: str
    url_path: str  # "" for home; these paths are a public contract used by shared links


HOME = PageInfo("pages/story/home.py", "Home", ":material/home:", "")
SMOOTHING = PageInfo("pages/story/smoothing.py", "Context matters", ":material/show_chart:", "smoothing")
LOOKUP = PageInfo("pages/story/lookup.py", "Search, softly", ":material/search:", "lookup")
ATTENTION = PageInfo("pages/story/attention.py", "Attention on your text", ":material/hub:", "attention")

STORY = (HOME, SMOOTHING, LOOKUP, ATTENTION)

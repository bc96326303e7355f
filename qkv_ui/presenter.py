"""Presenter mode: the guided tour through the story, as data, plus small pure helpers.

A step is one view: a page and its URL parameters (defaults left out, as the pages
publish them), with one sentence the presenter can read aloud. Each claim in a
narration was checked against what that view shows. A step with ``predict=1`` makes no claim:
it asks the room a question whose answer the page computes and shows on Reveal. ``qkv_ui.stage`` draws the
banner and moves between steps; nothing here imports streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from qkv_ui.pages import ATTENTION, HOME, LOOKUP, SMOOTHING, PageInfo

FOCUS_PREFIX = "focus-"  # container keys a tour step can point at
PRESENT = "present"  # URL flag and toggle key: present=1 turns presenter mode on
STEP = "step"  # URL parameter: the tour step shown, counted from 1
QR = "qr"  # URL flag: qr=0 hides the QR code of the view's link (qkv_ui.room)
OWN_FLAGS = (PRESENT, STEP, QR)  # the presenter's own parameters: never part of a view or its link
PREDICT = "predict"  # URL flag of predict-then-reveal (qkv_ui.predict): a step with it asks the room first


@dataclass(frozen=True)
class Step:
    """One stop of the tour: a page, what to say, the view's URL parameters and the part of the page it shows.

    ``focus`` is the key of the page's ``st.container`` holding the chart or table the narration
    talks about (``qkv_ui.stage.focus``): the stage scrolls it into view under the banner.
    """

    page: PageInfo
    narration: str
    params: Mapping[str, str] = field(default_factory=dict)
    focus: str = ""


STEPS: tuple[Step, ...] = (
    Step(HOME, "Every page builds a matrix of weights whose rows sum to 1 and multiplies it by the values; "
               "only how the weights are found changes.", focus="picture"),
    Step(SMOOTHING, "Smoothing: each point becomes a weighted average of its neighbours, and the bars under step 78 "
                    "show that distance alone sets the weights.", focus="weights"),
    Step(SMOOTHING, "Ask the room before σ changes: if σ doubles, does the smoothed value at step 78 move toward its "
                    "raw value or away from it? Take a show of hands, then click Reveal.",
         {PREDICT: "1"}, focus="predict-smoothing"),
    Step(SMOOTHING, "Widen σ to 20 and each point averages over about 120 neighbours: the noise is gone, and so are "
                    "the sharp edges of the steps.",
         {"sigma": "20"}, focus="series"),
    Step(SMOOTHING, "In section 4 each neighbour is also weighed by how close its value is, so the edges the "
                    "Gaussian blurs stay sharp in the content-aware line.",
         {"sigma": "8"}, focus="content"),
    Step(LOOKUP, "'funny kittens' is not a key, so the dict raises KeyError, while the soft lookup scores every "
                 "title and answers anyway, mostly with the cat video's topic mix.", focus="answers"),
    Step(LOOKUP, "Ask the room: at T = 0.01, how many keys get more than 1 % of the weight? And at T = 100? "
                 "Collect a few numbers, then click Reveal.",
         {PREDICT: "1"}, focus="predict-lookup"),
    Step(LOOKUP, "Ask for an exact key at T = 0.01 and both sides agree: the key scores highest, takes all the "
                 "weight, and the soft lookup returns the dict's answer.",
         {"q": "why the sky is blue", "temp": "0.01"}, focus="answers"),
    Step(ATTENTION, "Before the map: in layer 4, head 2 of a real model, which token will 'it' look at most? Let the "
                    "room pick one, then click Reveal and the map appears.",
         {PREDICT: "1"}, focus="predict-map"),
    Step(ATTENTION, "A real model: in layer 4, head 2, 'it' puts about two thirds of its attention on 'animal', and "
                    "still favours 'animal' when the sentence ends 'too wide', where 'it' is the street.",
         focus="flagship"),
    Step(ATTENTION, "The same head, one number at a time: 'it' projects its vector to a query, scores every key, "
                    "and the softmax weights mix the values.",
         {"view": "steps"}, focus="step-table"),
    Step(ATTENTION, "Each head has its own projections, so each learns a habit: in layer 1, head 3 looks only at "
                    "the previous token while most heads spread out.",
         {"view": "heads", "layer": "1"}, focus="head-maps"),
    Step(ATTENTION, "'bank' enters both sentences as the same vector; after the last layer the river bank and the loan "
                    "bank have drifted apart, much further than the river bank and a stream bank.",
         {"view": "context"}, focus="context"),
    Step(ATTENTION, "Ask the room: with d = 1024 and no division by √d, how large is the top softmax weight over 16 "
                    "keys? Let them pick a range, then click Reveal.",
         {"view": "scaling", "d": "1024", PREDICT: "1"}, focus="predict-scaling"),
    Step(ATTENTION, "With d = 1024, raw dot products spread about 32 wide and the softmax piles onto one key; "
                    "dividing by √d brings the spread back to 1.",
         {"view": "scaling", "d": "1024"}, focus="spread"),
    Step(ATTENTION, "Ask the room: switch off one of these four heads alone; which one changes the sentence "
                    "embedding least? Let them pick, then click Reveal and the knockout lab appears.",
         {"view": "explain", PREDICT: "1"}, focus="predict-knockout"),
    Step(ATTENTION, "Switch off the ten heads that matter least on this sentence, all at once: the sentence embedding "
                    "keeps a cosine above 0.99, and the single most important head alone moves it more than all ten.",
         {"view": "explain", "off": "1.10,2.2,2.10,2.11,2.12,3.3,3.8,3.10,4.6,5.6"}, focus="knockout"),
)


def counter(index: int) -> str:
    """The step counter for a 0-based index, e.g. "3 / 11"."""
    return f"{index + 1} / {len(STEPS)}"


def first_step_on(page: PageInfo) -> int:
    """The 0-based index of the tour's first step on ``page`` that shows it rather than asks (0 if none)."""
    on_page = [i for i, s in enumerate(STEPS) if s.page == page]
    return next((i for i in on_page if PREDICT not in STEPS[i].params), on_page[0] if on_page else 0)


def resolve_step(raw: str | None, page: PageInfo, view: Mapping[str, str]) -> tuple[int, str | None]:
    """The 0-based step to show on ``page`` for the URL's ``step`` value, and why the value was refused.

    No value (presenter mode just turned on, or the sidebar switched pages): the step that shows
    exactly ``view`` (the page's other URL parameters), else the first step on this page.
    A value that is not a step number, or names a step on another page: the first step on this
    page, with a reason that never echoes the raw value.
    """
    fallback = first_step_on(page)
    if raw is None:
        return next((i for i, s in enumerate(STEPS) if s.page == page and dict(s.params) == dict(view)),
                    fallback), None
    try:
        number = int(raw)
    except ValueError:
        return fallback, f"{STEP} must be a whole number"
    if not 1 <= number <= len(STEPS):
        return fallback, f"{STEP} must be between 1 and {len(STEPS)}"
    if STEPS[number - 1].page != page:
        return fallback, f"step {number} is on another page"
    return number - 1, None


_NAME = re.compile(r"[a-z][a-z0-9]{0,11}")
_SHORT = re.compile(r"[0-9A-Za-z.\-]{1,16}")


def changed_controls(step: Step, view: Mapping[str, str]) -> list[str]:
    """How ``view`` differs from ``step``'s own view, as Markdown-safe phrases, e.g. ["`sigma` 20 → 12"].

    ``view`` comes from the URL, so only parameter names of our own shape are listed, and a value
    is shown only when it is a short plain word or number (else just "changed").
    """
    phrases = []
    for key in sorted(set(step.params) | set(view)):
        before, after = step.params.get(key), view.get(key)
        if before == after or not _NAME.fullmatch(key):
            continue
        plain = all(v is None or _SHORT.fullmatch(v) for v in (before, after))
        phrases.append(f"`{key}` {before or 'default'} → {after or 'default'}" if plain else f"`{key}` changed")
    return phrases


def step_query(index: int) -> dict[str, str]:
    """The URL parameters that open step ``index`` in presenter mode."""
    return {**STEPS[index].params, PRESENT: "1", STEP: str(index + 1)}

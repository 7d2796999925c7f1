"""How long a walk through the pages takes a person, by the keystroke-level model (Card, Moran and Newell 1980),
next to how long the automated browser took.

The browser test records each step of the walk as the operators a person would do (`Walk.point_click`, `keys`,
`home`, `think`) and measures each wait for the system (`Walk.response`, timed for real while the browser waits).
The estimate is the sum of:

    P+K  pointing at a target and clicking it             1.1 s + 0.2 s (a double click: 1.1 s + 2 x 0.2 s)
    K    one keystroke, average typist (40 wpm)           0.28 s; a Chinese character typed with pinyin counts
                                                          CJK_KEYS keystrokes (its syllable and the choice)
    H    moving the hand between mouse and keyboard       0.4 s
    M    mental preparation, one per decision             1.35 s
    R    the system's response                            as measured in the test

`Walk.report()` gives the counts and seconds per operator, the estimate and the automated wall clock.
"""
import json
import time
from contextlib import contextmanager

POINT = 1.1
CLICK = 0.2
KEY = 0.28
HOME = 0.4
MENTAL = 1.35
CJK_KEYS = 4  # pinyin syllable (about 3 letters) and a space or digit to choose the character


def keystrokes(text):
    """Keystrokes a person types for `text`: one per character, CJK_KEYS per Chinese character."""
    return sum(CJK_KEYS if "\u4e00" <= char <= "\u9fff" else 1 for char in text)


class Walk:
    """The operators of one walk, in order, and the automated wall clock from `start()` to `stop()`."""

    def __init__(self, name):
        self.name = name
        self.steps = []  # (operator, what, seconds)
        self.started = self.stopped = None

    def start(self):
        self.started = time.monotonic()

    def stop(self):
        self.stopped = time.monotonic()

    def point_click(self, what, clicks=1):
        self.steps.append(("P", what, POINT))
        self.steps.append(("K", f"{what} (click x{clicks})", CLICK * clicks))

    def keys(self, what, text=None, count=None):
        n = keystrokes(text) if count is None else count
        self.steps.append(("K", f"{what} ({n} keys)", KEY * n))

    def home(self, what="hand to keyboard/mouse"):
        self.steps.append(("H", what, HOME))

    def think(self, what):
        self.steps.append(("M", what, MENTAL))

    @contextmanager
    def response(self, what):
        """Time the system's answer (the browser waiting for the page, the diagram, the scenario run...)."""
        begun = time.monotonic()
        yield
        self.steps.append(("R", what, time.monotonic() - begun))

    def report(self):
        per = {}
        for operator, _what, seconds in self.steps:
            count, total = per.get(operator, (0, 0.0))
            per[operator] = (count + (1 if operator != "K" else 0), total + seconds)
        keys = sum(int(what.rsplit("(", 1)[1].split()[0]) for op, what, _s in self.steps
                   if op == "K" and what.endswith("keys)"))
        clicks = sum(1 for op, _w, _s in self.steps if op == "P")
        estimate = sum(seconds for _op, _what, seconds in self.steps)
        return {
            "walk": self.name,
            "automated_wall_clock_s": round(self.stopped - self.started, 2),
            "klm_estimate_s": round(estimate, 1),
            "target_s": 120,
            "operators": {
                "pointing_and_clicks": clicks,
                "typed_keystrokes": keys,
                "homing": per.get("H", (0, 0))[0],
                "mental_preparations": per.get("M", (0, 0))[0],
                "system_responses": per.get("R", (0, 0))[0],
            },
            "seconds_by_operator": {op: round(total, 2) for op, (_count, total) in sorted(per.items())},
            "steps": [{"operator": op, "what": what, "seconds": round(seconds, 2)} for op, what, seconds in self.steps],
        }

    def write(self, folder):
        """Print the figures (pytest -s shows them) and write them to <folder>/timing-<name>.json."""
        report = self.report()
        print(f"\n[{self.name}] automated wall clock {report['automated_wall_clock_s']} s; "
              f"KLM estimate for a person {report['klm_estimate_s']} s (target {report['target_s']} s); "
              f"operators {report['operators']}; seconds {report['seconds_by_operator']}")
        path = folder / f"timing-{self.name}.json"
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        return report

"""``python -m benchmarks [name ...]``: run the benchmark suites and merge into bench-results.json."""

from __future__ import annotations

import argparse
import importlib

from .common import RESULTS, write_results

SUITES = ("app_server", "attention", "explain", "smoothing", "lookup", "interaction", "load", "soak", "audience",
          "audience_check")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", default=[s for s in SUITES if not s.startswith("audience")],
                        help=f"any of {', '.join(SUITES)} (audience*: only when named)")
    args = parser.parse_args()
    unknown = sorted(set(args.suites) - set(SUITES))
    if unknown:
        parser.error(f"unknown suite(s) {unknown}; choose from {list(SUITES)}")
    for name in args.suites:
        figures = importlib.import_module(f"benchmarks.{name}").run()
        for key, value in figures.items():
            print(f"{key:32s} {value:10.3f}")
        write_results(figures)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

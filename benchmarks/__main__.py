"""``python -m benchmarks [name ...]``: run the benchmark suites and merge into bench-results.json."""

from __future__ import annotations

import argparse
import importlib

from .common import RESULTS, write_results

SUITES = ("app_server", "attention", "smoothing", "lookup", "interaction", "load", "soak")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", default=list(SUITES), help=f"any of {', '.join(SUITES)}")
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

"""The CI gate: the evaluation's headline figures against evals/thresholds.json.

thresholds.json holds `min` (a metric must be at least this) and `max` (at most this), keyed by the
headline metric names of the report (report["headline"]["ours"]). A metric the report lacks, or reports
as n/a, fails the gate: a gate that silently skips a metric guards nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

THRESHOLDS = Path(__file__).parent / "thresholds.json"


def load_thresholds(path: Path | str | None = None) -> dict:
    return json.loads(Path(path or THRESHOLDS).read_text(encoding="utf-8"))


def check(report: dict, thresholds: dict) -> list[str]:
    """Failures, one line each (empty: the gate passes). `report` is a full report or its headline figures."""
    figures = report["headline"]["ours"] if "headline" in report else report
    failures = []
    for bound, compare, word in (("min", lambda v, t: v >= t, "below the minimum"),
                                 ("max", lambda v, t: v <= t, "above the maximum")):
        for metric, limit in thresholds.get(bound, {}).items():
            value = figures.get(metric)
            if value is None:
                failures.append(f"{metric}: not measured (threshold {bound} {limit})")
            elif not compare(value, limit):
                failures.append(f"{metric} = {value:.3f}, {word} {limit}")
    return failures

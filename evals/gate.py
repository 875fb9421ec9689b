"""The CI gate: an evaluation report against evals/thresholds.json.

thresholds.json (the file's `_comment` says the same):
- `splits`: per split, `min` / `max` bounds on the headline metrics (report["headline"]["ours"][split]). The
  held-out split (`held_out`, "test") is the gate; "dev" bounds guard against regressions on the questions the
  team tunes on. A gold set with a held-out split and no bounds for it fails: run `--write-thresholds`.
- `floors` / `ceilings`: what a useful system needs whatever was measured (abstention precision ≥ 0.80, every
  quote verbatim…). They hold on the held-out split; `--write-thresholds` never writes a bound weaker than
  them, and refuses to write anything while a held-out figure misses one.
- `targets`: what the product must reach but does not yet (abstention precision ≥ 0.80 on held-out questions
  that sound close to the corpus): printed with every gated run as «objetivo no alcanzado», never silently
  dropped, but not failing the run while no operating point of the answerability score reaches it together with
  ≤ 3% false refusals (assistant/answerability.py, evals/calibration.py). Moving a target back to `floors` makes
  it gate.
- `margin`: bounds are written as the measured figure minus (for `max`: plus) this margin, or one case's worth
  of the metric where that is more (a figure over 10 parts moves by 0.1 when one part flips: `margins`).
- `baseline_margin`: ours must beat the LangChain baseline by this much, on the held-out split (on dev while
  the gold set has no held-out split); a report without the baseline fails.
- `model`: bounds for a model-backed composer's run (the split bounds are the extractive composer's): at
  least one model sentence survives, and none of the survivors is unsupported.
A metric the report lacks, or reports as n/a, fails: a gate that silently skips a metric guards nothing.
A failure names the metric, the split and the questions whose outcome for it changed since the previous run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

THRESHOLDS = Path(__file__).parent / "thresholds.json"
GATED_MIN = ("recall@1", "recall@5", "recall@10", "mrr", "key_fact_inclusion", "lead_is_evidence", "answers_right",
             "abstention_precision", "abstention_recall", "follow_up_right", "english_right", "parts_right",
             "uncovered_parts_named", "citation_recall", "citation_precision", "quotes_verbatim", "language_accuracy")
GATED_MAX = ("false_refusal_rate", "unsupported_share_extractive")
MAX_CHANGED_LISTED = 12

# How one question contributes to a metric, to name the questions that changed since the previous run.
ROW_OUTCOME: dict[str, Callable[[dict], object]] = {
    **{f"recall@{k}": (lambda r, k=k: r.get(f"recall@{k}")) for k in (1, 3, 5, 10)},
    "mrr": lambda r: r.get("rr"),
    "key_fact_inclusion": lambda r: r.get("key_facts_all"), "lead_is_evidence": lambda r: r.get("lead_is_evidence"),
    "answers_right": lambda r: r["right"], "follow_up_right": lambda r: r["right"] if r["follow_up"] else None,
    "english_right": lambda r: r["right"] if r["language"] == "en" else None,
    "abstention_precision": lambda r: r["abstained"], "abstention_recall": lambda r: r["abstained"],
    "false_refusal_rate": lambda r: r["abstained"],
    "parts_right": lambda r: [p["right"] for p in r.get("parts", []) if p["answerable"]] or None,
    "uncovered_parts_named": lambda r: [p["right"] for p in r.get("parts", []) if not p["answerable"]] or None,
    "citation_recall": lambda r: r.get("citation_recall"), "citation_precision": lambda r: r.get("citation_precision"),
    "unsupported_share_extractive": lambda r: r.get("unsupported_sentences"),
    "unsupported_share_model": lambda r: r.get("unsupported_sentences") if r["answer_kind"] == "model" else None,
    "model_sentences": lambda r: r.get("sentences") if r["answer_kind"] == "model" else None,
    "quotes_verbatim": lambda r: r.get("quotes_verbatim"), "language_accuracy": lambda r: r.get("language_ok"),
}


def load_thresholds(path: Path | str | None = None) -> dict:
    return json.loads(Path(path or THRESHOLDS).read_text(encoding="utf-8"))


def load_rows(report_path: Path | str | None) -> list[dict]:
    """The per-question rows of a kept report (empty when there is none)."""
    if not report_path or not Path(report_path).is_file():
        return []
    return json.loads(Path(report_path).read_text(encoding="utf-8")).get("rows", {}).get("ours", [])


def changed_questions(metric: str, split: str, rows: list[dict], previous: list[dict]) -> str:
    """«changed since the previous run: q012 (True → False), …» for one metric and split."""
    if not previous:
        return "no previous run to compare"
    outcome = ROW_OUTCOME.get(metric)
    if outcome is None:
        return "per-question changes not tracked for this metric"
    before = {r["id"]: outcome(r) for r in previous if r.get("split", "dev") == split}
    changed = [(r["id"], before.get(r["id"]), outcome(r)) for r in rows if r["split"] == split
               and r["id"] in before and before[r["id"]] != outcome(r)]
    if not changed:
        return "no question changed since the previous run"
    listed = ", ".join(f"{i} ({a} → {b})" for i, a, b in changed[:MAX_CHANGED_LISTED])
    more = f" and {len(changed) - MAX_CHANGED_LISTED} more" if len(changed) > MAX_CHANGED_LISTED else ""
    return f"changed since the previous run: {listed}{more}"


def _bounds(split: str, thresholds: dict) -> tuple[dict, dict]:
    """The effective min/max bounds of a split: its own, tightened by the floors on the held-out split."""
    own = thresholds.get("splits", {}).get(split, {})
    low, high = dict(own.get("min", {})), dict(own.get("max", {}))
    if split == thresholds.get("held_out", "test"):
        for metric, floor in thresholds.get("floors", {}).items():
            low[metric] = max(low.get(metric, floor), floor)
        for metric, ceiling in thresholds.get("ceilings", {}).items():
            high[metric] = min(high.get(metric, ceiling), ceiling)
    return low, high


def _compare(figures: dict, low: dict, high: dict, split: str, rows: list[dict], previous: list[dict]) -> list[str]:
    failures = []
    for bound, limits, ok, word in (("min", low, lambda v, t: v >= t, "below the minimum"),
                                    ("max", high, lambda v, t: v <= t, "above the maximum")):
        for metric, limit in limits.items():
            value = figures.get(metric)
            if value is None:
                failures.append(f"{metric} [{split}]: not measured (threshold {bound} {limit})")
            elif not ok(value, limit):
                failures.append(f"{metric} [{split}] = {value:.3f}, {word} {limit} — "
                                + changed_questions(metric, split, rows, previous))
    return failures


def check(report: dict, thresholds: dict, previous_rows: list[dict] | None = None) -> list[str]:
    """Failures, one line each (empty: the gate passes)."""
    ours = report["headline"]["ours"]
    rows, previous = report.get("rows", {}).get("ours", []), previous_rows or []
    held_out = thresholds.get("held_out", "test")
    if report.get("backend", "extractive") != "extractive":
        model = thresholds.get("model", {})
        return [f for split in ours for f in _compare(ours[split], model.get("min", {}), model.get("max", {}),
                                                       split, rows, previous)]
    failures = []
    if held_out in ours and held_out not in thresholds.get("splits", {}):
        failures.append(f"[{held_out}]: the gold set has a held-out split and thresholds.json no bounds for it — "
                        "run `policy-assistant eval --write-thresholds`")
    for split in thresholds.get("splits", {}):
        if split not in ours:
            failures.append(f"[{split}]: thresholds are set for this split but the gold set has no question in it")
            continue
        low, high = _bounds(split, thresholds)
        failures += _compare(ours[split], low, high, split, rows, previous)
    failures += _beat_baseline(report, thresholds, held_out if held_out in ours else "dev")
    return failures


def missed_targets(report: dict, thresholds: dict) -> list[str]:
    """The targets the held-out split does not reach yet, one line each (they do not fail the gate)."""
    held_out = thresholds.get("held_out", "test")
    figures = report["headline"]["ours"].get(held_out, {})
    return [f"{metric} [{held_out}] = {figures.get(metric)}, objetivo {target}"
            for metric, target in thresholds.get("targets", {}).items()
            if figures.get(metric) is None or figures[metric] < target]


def _beat_baseline(report: dict, thresholds: dict, split: str) -> list[str]:
    margins = thresholds.get("baseline_margin", {})
    if not margins:
        return []
    base = (report["headline"].get("baseline") or {}).get(split)
    if not base:
        return [f"baseline [{split}]: not run — the gate compares ours with it (drop --no-baseline)"]
    ours = report["headline"]["ours"].get(split, {})
    failures = []
    for metric, margin in margins.items():
        mine, theirs = ours.get(metric), base.get(metric)
        if mine is None or theirs is None:
            failures.append(f"{metric} [{split}]: not measured for ours or the baseline (margin {margin})")
        elif mine - theirs < margin:
            failures.append(f"{metric} [{split}] = {mine:.3f}, the baseline's {theirs:.3f}: ours must lead by "
                            f"{margin} or more")
    return failures


def cases_behind(metric: str, rows: list[dict]) -> int:
    """How many cases (questions, turns or parts) a metric is computed over in these rows."""
    outcome = ROW_OUTCOME.get(metric)
    if outcome is None:
        return 0
    if metric == "abstention_recall":
        rows = [r for r in rows if not r["answerable"]]
    elif metric == "abstention_precision":
        rows = [r for r in rows if r["abstained"]]
    elif metric == "false_refusal_rate":
        rows = [r for r in rows if r["answerable"]]
    values = [outcome(r) for r in rows]
    return sum(len(v) if isinstance(v, list) else 1 for v in values if v is not None)


def margins(thresholds: dict, rows: list[dict]) -> Callable[[str], float]:
    """The margin a bound is written with: the configured one, or one case's worth of the metric where it rests on
    few cases (10 uncovered parts: one case moves it by 0.1), so that one case flipping never fails the gate but
    two do."""
    base = thresholds.get("margin", 0.03)

    def margin(metric: str) -> float:
        n = cases_behind(metric, rows)
        return max(base, 1.0 / n + 1e-3) if n else base
    return margin


def propose_thresholds(report: dict, thresholds: dict) -> tuple[dict, list[str]]:
    """New thresholds from a report: per measured split, each gated metric's figure minus the margin (`max`:
    plus); on the held-out split never weaker than the floors and ceilings. Refusals: held-out figures that
    miss a floor or ceiling themselves (the system is not yet good enough to be gated: fix it, do not lower
    the floor)."""
    held_out = thresholds.get("held_out", "test")
    floors, ceilings = thresholds.get("floors", {}), thresholds.get("ceilings", {})
    rows = (report.get("rows") or {}).get("ours") or []
    splits, refusals = {}, []
    for split, figures in report["headline"]["ours"].items():
        margin = margins(thresholds, [r for r in rows if r["split"] == split])
        low = {m: round(max(0.0, figures[m] - margin(m)), 3) for m in GATED_MIN if figures.get(m) is not None}
        high = {m: round(min(1.0, figures[m] + margin(m)), 3) for m in GATED_MAX if figures.get(m) is not None}
        if split == held_out:
            refusals += [f"{m} [{split}]: measured {figures.get(m)}, the floor is {floor}"
                         for m, floor in floors.items() if figures.get(m) is None or figures[m] < floor]
            refusals += [f"{m} [{split}]: measured {figures.get(m)}, the ceiling is {ceiling}"
                         for m, ceiling in ceilings.items() if figures.get(m) is None or figures[m] > ceiling]
            low.update({m: max(floor, low.get(m, floor)) for m, floor in floors.items()})
            high.update({m: min(ceiling, high.get(m, ceiling)) for m, ceiling in ceilings.items()})
        splits[split] = {"min": low, "max": high}
    return {**thresholds, "splits": splits, "measured": {"created": report.get("created"),
                                                          "gold_sha256": report.get("gold_sha256")}}, refusals


def write_thresholds(report: dict, path: Path | str | None = None) -> list[str]:
    """Write measured-minus-margin bounds into thresholds.json; nothing is written when a bound would be weaker
    than a floor (the refusals are returned)."""
    path = Path(path or THRESHOLDS)
    proposed, refusals = propose_thresholds(report, load_thresholds(path))
    if not refusals:
        path.write_text(json.dumps(proposed, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return refusals

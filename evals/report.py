"""The evaluation report: the headline table (dev | test | baseline dev | baseline test, with the change since
the previous run), tables by style and category, charts, the worst failures; kept per run under
runs/<timestamp>/ with the latest copy at the top of the output folder and latest.json pointing at it."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from evals.cases import SPLITS
from evals.scoring import COUNTS, GROUP_FIGURES, HEADLINE

HELD_OUT = "test"  # the split nothing is fitted on: its figures get an interval


def _fmt(key: str, value) -> str:
    if value is None:
        return "n/a"
    if key.endswith("_ms") or key in COUNTS:
        return f"{value:.0f}"
    return f"{value:.3f}"


def _delta(key: str, now, before) -> str:
    if now is None or before is None:
        return "n/a"
    change = now - before
    if abs(change) < (0.5 if key.endswith("_ms") or key in COUNTS else 0.0005):
        return "="
    return f"{change:+.0f}" if key.endswith("_ms") or key in COUNTS else f"{change:+.3f}"


def previous_run(output_dir: Path) -> tuple[Path, dict] | None:
    """The newest kept run's folder and report."""
    runs = sorted((output_dir / "runs").glob("*/report.json")) if (output_dir / "runs").is_dir() else []
    for path in reversed(runs):
        try:
            return path.parent, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
    return None


def format_headline(report: dict, markdown: bool = False) -> str:
    ours, base = report["headline"]["ours"], report["headline"].get("baseline") or {}
    change = (report.get("previous") or {}).get("delta", {})
    held_out = (report.get("intervals") or {}).get(HELD_OUT, {})
    header = ["Metric", *SPLITS, f"{HELD_OUT} 95%", *(f"baseline {s}" for s in SPLITS), *(f"Δ {s}" for s in SPLITS)]
    lines = []
    for key, label, _ in HEADLINE:
        cells = [label]
        cells += [_fmt(key, ours[s].get(key)) if s in ours else "—" for s in SPLITS]
        cells.append("–".join(_fmt(key, v) for v in held_out[key]) if key in held_out else "")
        cells += [_fmt(key, base[s].get(key)) if s in base else "—" for s in SPLITS]
        cells += [change.get(s, {}).get(key, "n/a") for s in SPLITS]
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(out + ["| " + " | ".join(cells) + " |" for cells in lines])
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                           strict=True)))

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def _group_table(report: dict, key: str) -> list[str]:
    ours, base = report[f"by_{key}"]["ours"], report[f"by_{key}"].get("baseline") or {}
    labels = {"recall@5": "R@5", "mrr": "MRR", "key_fact_inclusion": "Key facts", "answers_right": "Right",
              "false_refusal_rate": "False ref.", "abstention_recall": "Unans. refused",
              "citation_recall": "Cit. recall"}
    lines = [f"| Split | {key.title()} | n | " + " | ".join(labels[k] for k in GROUP_FIGURES) + " | Baseline R@5 |",
             "|" + "---|" * (len(GROUP_FIGURES) + 4)]
    for split, groups in ours.items():
        for group, v in groups.items():
            b = base.get(split, {}).get(group, {})
            lines.append(f"| {split} | {group} | {v['n']} | " + " | ".join(_fmt(k, v[k]) for k in GROUP_FIGURES)
                         + f" | {_fmt('', b.get('recall@5'))} |")
    return lines


def _charts(report: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["rows"]["ours"]
    splits = [s for s in SPLITS if s in report["by_category"]["ours"]]
    categories = sorted({c for s in splits for c, v in report["by_category"]["ours"][s].items()
                         if v["recall@5"] is not None})
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(splits))
    for i, split in enumerate(splits):
        figures = report["by_category"]["ours"][split]
        ax.bar([j + i * width for j in range(len(categories))],
               [(figures.get(c) or {}).get("recall@5") or 0 for c in categories], width, label=f"ours · {split}")
    ax.set_xticks([j + width * (len(splits) - 1) / 2 for j in range(len(categories))], categories, rotation=35,
                  ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("evidence recall@5")
    ax.set_title("Evidence recall@5 by category and split")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "recall_by_category.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4))
    series = [("ours: total", [r["timings_ms"].get("total", 0) for r in rows]),
              ("ours: retrieve", [r["timings_ms"].get("retrieve", 0) for r in rows])]
    if report["rows"].get("baseline"):
        series.append(("baseline: total", [r["timings_ms"].get("total", 0) for r in report["rows"]["baseline"]]))
    top = max((max(v) for _, v in series if v), default=1.0) or 1.0
    bins = [top * i / 30 for i in range(31)]
    for label, values in series:
        ax.hist(values, bins=bins, alpha=0.55, label=label)
    ax.set_xlabel("milliseconds per question")
    ax.set_ylabel("questions")
    ax.set_title("Latency distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "latency.png", dpi=110)
    plt.close(fig)
    return ["recall_by_category.png", "latency.png"]


def dev_column(report: dict) -> str:
    """What the dev column measures: questions the learned models never saw (each answered by the models of the
    fold that left it out, evals.folds), or, where no fold model applies, the questions they were fitted on."""
    folds = report.get("dev_out_of_fold") or {}
    if not folds.get("dev_cases"):
        return ""
    if not folds["in_sample"]:
        return "`dev` is answered out of fold: each question by models fitted without it."
    return (f"`dev` is in-sample for {folds['in_sample']} of its {folds['dev_cases']} cases (no fold model for "
            "this gold set: run `python -m evals.calibration --write`), out of fold for the others.")


def render_markdown(report: dict) -> str:
    prev = report.get("previous")
    counts = ", ".join(f"{s}: {v['questions']} ({v['answerable']} answerable)"
                       for s, v in report["headline"]["ours"].items())
    lines = [f"# Evaluation report — {report['created']}", "",
             f"Gold set `{report['gold_set']}`" + (f" + `{report['conversations']}`" if report.get("conversations")
                                                   else "") + f" — {counts} · composer **{report['backend']}** · "
             f"index `{report['data_dir']}` · {report['seconds']['total']:.0f} s (ours {report['seconds']['ours']:.0f} s).",
             ""]
    if prev:
        lines += [f"Changes are against the previous kept run `{prev['run']}` ({prev['created']}"
                  + ("" if prev["comparable"] else "; **not comparable**: other gold set or composer") + ").", ""]
    else:
        lines += ["No previous run is kept in this folder: no changes to show.", ""]
    lines += ["## Headline", "", "`test` is the held-out split: nothing is tuned on it. " + dev_column(report)
              + " `test 95%`: the interval a held-out figure could fall in with another draw of as many questions "
              "(bootstrap over questions, a conversation's turns together); it does not cover what a refit moves.", "",
              format_headline(report, markdown=True), ""]
    if report["baseline"].get("enabled"):
        b = report["baseline"]
        lines += [f"Baseline: {b['pipeline']}; {b['chunks']} chunks. Its answer: {b['answer']}.", ""]
    lines += ["Notes:", *[f"- {n}" for n in report["notes"]], "", "## By style", "", *_group_table(report, "style"),
              "", "## By category", "", *_group_table(report, "category"), "",
              "![recall@5 by category](recall_by_category.png)", "", "![latency](latency.png)", "",
              "## Worst failures per split and category", ""]
    if not report["worst_failures"]:
        lines.append("None.")
    for group, items in report["worst_failures"].items():
        lines += [f"### {group}", ""]
        for f in items:
            lines.append(f"- **{f['id']}** — {f['question']}")
            if f.get("resolved_question") and f["resolved_question"] != f["question"]:
                lines.append(f"  - resolved as: {f['resolved_question']}")
            if f["expected_evidence"]:
                ranks = ", ".join("not retrieved" if r is None else f"rank {r}" for r in f["evidence_ranks"] or [])
                lines.append(f"  - expected evidence ({ranks}): " + " / ".join(f"«{e}»" for e in f["expected_evidence"]))
                missing = [k for k, ok in f["key_facts"].items() if not ok]
                if missing:
                    lines.append("  - key facts missing from the answer: " + ", ".join(f"«{k}»" for k in missing))
            else:
                lines.append("  - expected: abstention (the corpus does not answer it)")
            returned = "abstained" if f["abstained"] else " ".join(f["answer"].split())[:400]
            lines.append(f"  - returned: {returned}")
            tops = "; ".join(f"{c['rank']}. `{c['chunk_id']}` {c['preview'][:90]}…" for c in f["top_contexts"])
            lines.append(f"  - top contexts: {tops}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(report: dict, output_dir: Path) -> Path:
    """Write runs/<timestamp>/{report.md, report.json, *.png}, copy them to the top of `output_dir` and point
    latest.json at the run; `report["previous"]` names the run compared with. Returns the run folder."""
    output_dir = Path(output_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = output_dir / "runs" / stamp
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = output_dir / "runs" / f"{stamp}-{n}"
    found = previous_run(output_dir)
    run_dir.mkdir(parents=True)
    if found:
        prev_dir, prev = found
        comparable = prev.get("gold_sha256") == report["gold_sha256"] and prev.get("backend") == report["backend"]
        before = (prev.get("headline") or {}).get("ours") or {}
        report["previous"] = {
            "run": str(prev_dir.relative_to(output_dir)), "report": str(prev_dir / "report.json"),
            "created": prev.get("created"), "comparable": comparable,
            "delta": {split: {k: _delta(k, now.get(k), (before.get(split) or {}).get(k)) for k, _, _ in HEADLINE}
                      for split, now in report["headline"]["ours"].items()}}
    report["run_dir"] = str(run_dir)
    report["charts"] = _charts(report, run_dir)
    (run_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (run_dir / "report.md").write_text(render_markdown(report), encoding="utf-8")
    for name in ["report.json", "report.md", *report["charts"]]:
        shutil.copyfile(run_dir / name, output_dir / name)
    keys = [k for k, _, _ in HEADLINE]
    (output_dir / "latest.json").write_text(json.dumps(
        {"run": str(run_dir.relative_to(output_dir)), "created": report["created"], "backend": report["backend"],
         "headline": {s: {k: v.get(k) for k in keys} for s, v in report["headline"]["ours"].items()},
         "baseline": {s: {k: v.get(k) for k in keys} for s, v in (report["headline"].get("baseline") or {}).items()}},
        ensure_ascii=False, indent=1), encoding="utf-8")
    return run_dir

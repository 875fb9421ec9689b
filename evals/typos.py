"""The gold questions typed carelessly: a copy of the gold set in which every question has typos in its longer
words, the slips a phone or a hurried hand makes (a neighbouring key, a letter dropped, doubled or swapped,
«v» for «b», «s» for «z» or «c»), to measure what typos cost and what the typo correction
(`retrieval.correct_typos`, assistant.spelling `Typos`) wins back:

    python -m evals.typos --out /tmp/typos
    policy-assistant eval --data data --gold /tmp/typos/questions.jsonl --no-baseline
    policy-assistant eval --data data --gold /tmp/typos/questions.jsonl --no-baseline --set retrieval.correct_typos=false

The typos are drawn at random, from a seed and each question's id (the same copy every time). Names, acronyms,
numbers and words shorter than `MIN_LETTERS` are left alone; `--languages es` leaves English questions alone too.
The fitted models read these questions as they read the gold ones (not out of fold: compare the two
runs with each other, and read the test split).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from evals.cases import DEFAULT_GOLD

# a word this long gets typos; at most this many words of a question
MIN_LETTERS = 6
WORDS_PER_QUESTION = 2
# keys next to each other on a Spanish keyboard, and letters Spanish writers confuse
_NEIGHBOURS = {"a": "sq", "b": "vn", "c": "xvs", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj", "i": "uo",
               "j": "hk", "k": "jl", "l": "kñ", "m": "n", "n": "mb", "o": "ip", "p": "o", "q": "w", "r": "et",
               "s": "adz", "t": "ry", "u": "yi", "v": "bc", "w": "qe", "x": "zc", "y": "tu", "z": "xs", "ñ": "nl"}
_WORD = re.compile(rf"(?<![\w'’])[a-záéíóúñü]{{{MIN_LETTERS},}}(?![\w'’])")


def typo(word: str, rng: random.Random) -> str:
    """One slip in a word: a neighbouring key, a dropped, doubled or swapped letter (never its first)."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("neighbour", "drop", "double", "swap"))
    if kind == "neighbour" and word[i] in _NEIGHBOURS:
        return word[:i] + rng.choice(_NEIGHBOURS[word[i]]) + word[i + 1:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def misspelt(question: str, rng: random.Random) -> str:
    """The question with typos in up to WORDS_PER_QUESTION of its long lower-case words."""
    words = list(dict.fromkeys(_WORD.findall(question)))
    chosen = set(rng.sample(words, min(WORDS_PER_QUESTION, len(words))))
    return _WORD.sub(lambda m: typo(m.group(0), rng) if m.group(0) in chosen else m.group(0), question)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Copia del conjunto de referencia con erratas en sus preguntas")
    parser.add_argument("--gold", default=str(DEFAULT_GOLD))
    parser.add_argument("--out", required=True, help="carpeta donde escribir questions.jsonl")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--languages", default="es,en", help="idiomas de las preguntas con erratas (es,en)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    changed = total = 0
    with open(args.gold, encoding="utf-8") as source, open(out / "questions.jsonl", "w", encoding="utf-8") as target:
        for line in source:
            case = json.loads(line)
            total += 1
            if case.get("language") in args.languages.split(","):
                rng = random.Random(f"{args.seed}:{case['id']}")
                typed = misspelt(case["question"], rng)
                changed += typed != case["question"]
                case["question"] = typed
            target.write(json.dumps(case, ensure_ascii=False) + "\n")
    print(f"{changed} de {total} preguntas con erratas → {out / 'questions.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Enumerated lists in a passage's text, and the item an ordinal follow-up asks for.

A diplomat reading an answer that says «tiene cuatro funciones principales» asks «¿y la tercera?» or "and the
last one?": the item is in the list the previous answer drew on («A) … B) … C) …», "(a) … (b) …", «1. … 2. …»,
«(I) … (II) …», bulleted lines), in a chunk the previous answer cited or the one right after it. The item is
quoted as written, marker included, so that the answer's quote is verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")
# a marker opens a line or follows a space (or «;», «:», «,»)
_START = r"(?:(?<=[\s;:,])|^)"


def _letter(marker: str) -> int:
    return ord(marker.lower()) - ord("a") + 1


def _roman(marker: str) -> int:
    return _ROMAN.index(marker.lower()) + 1 if marker.lower() in _ROMAN else 0


# the families a list is numbered with, and each marker's place in its sequence (a, A, i, I, 1 → 1)
_FAMILIES = (
    (re.compile(_START + r"\(?([A-Z])\)\s+"), _letter),                      # A) B) C)   (A) (B)
    (re.compile(_START + r"\(?([a-z])\)\s+"), _letter),                      # a) b) c)   (a) (b)
    (re.compile(_START + r"\(?([ivx]{1,4}|[IVX]{1,4})\)\s+"), _roman),        # (i) (ii)   I) II)
    (re.compile(r"(?m)(?:^[ \t]*|(?<=[\s;:,]))(\d{1,2})[.)]\s+(?=\D)"), int),  # 1. 2.   1) 2)
)
_BULLET = re.compile(r"(?m)^[ \t]*[-•*–][ \t]+\S.*$")
_TRAILING = re.compile(r"(?:[;,]?\s+(?:and|or|y|e|o|u)|[;,])$")  # «…; y», "…, and" before the next item
# the last item ends at the end of its sentence or line
_ITEM_END = re.compile(r"\n|(?<=[.;])\s+(?=[A-ZÁÉÍÓÚÑ¿])")


@dataclass(frozen=True)
class Item:
    """One item of a list: its quote as the text writes it (marker included) and where it starts."""

    quote: str
    start: int


def _runs(text: str, pattern: re.Pattern, place) -> list[list[re.Match]]:
    """Runs of markers of one family that count up from the first (1, 2, 3…), in the order the text gives them."""
    runs: list[list[re.Match]] = []
    for match in pattern.finditer(text):
        key = place(match.group(1))
        if key == 1:
            runs.append([match])
        elif runs and key == place(runs[-1][-1].group(1)) + 1:
            runs[-1].append(match)
    return [r for r in runs if len(r) >= 2]


def lists_in(text: str) -> list[list[Item]]:
    """The enumerated lists of a text, in the order they start, each of two items or more."""
    found: list[list[Item]] = []
    for pattern, place in _FAMILIES:
        for run in _runs(text, pattern, place):
            items = []
            for i, match in enumerate(run):
                end = run[i + 1].start() if i + 1 < len(run) else len(text)
                body = text[match.start():end]
                if i + 1 == len(run) and (stop := _ITEM_END.search(body, len(match.group(0)))):
                    body = body[:stop.start()]
                items.append(Item(_TRAILING.sub("", body.strip()), match.start()))
            found.append(items)
    bullets = list(_BULLET.finditer(text))
    run: list[re.Match] = []
    for match in bullets + [None]:
        if match is not None and run and text[run[-1].end():match.start()].strip() == "":
            run.append(match)
            continue
        if len(run) >= 2:
            found.append([Item(m.group(0).strip(), m.start()) for m in run])
        run = [match] if match is not None else []
    return sorted(found, key=lambda items: items[0].start)


T = TypeVar("T")


def nth(items: Sequence[T], position: int) -> T | None:
    """The element at `position` (1 first; -1 the last, -2 the one before), or None when there is none."""
    index = position - 1 if position > 0 else len(items) + position
    return items[index] if 0 <= index < len(items) and position else None


def item_at(text: str, position: int) -> Item | None:
    """The item at `position` (1 first; -1 the last, -2 the one before) of the first list of the text that has it."""
    return next((item for items in lists_in(text) if (item := nth(items, position)) is not None), None)

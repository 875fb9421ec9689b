"""Language of a text (a question, a chunk): Spanish or English, from function words and Spanish-only signs."""

from __future__ import annotations

import re

# Typed questions drop accents («cuantos», «q»): the bare forms count too.
_ES = set("el la los las de del que q y en un una por para con no se su sus al lo como más qué cuál cuáles "
          "quién quiénes cómo dónde cuándo es son fue está hay sobre según entre también perú este esta estos "
          "estas ese esa eso han ha hubo fueron pero cual cuales quien donde cuando cuanto cuantos cuantas "
          "cuánto cuántos cuántas porque ya".split())
_EN = set("the of and to in is are was were what which who whose how where when why does did do for with on by "
          "about according from an a its their has have peru should would could will can this that these those "
          "there it they be been any".split())


def _function_words(text: str) -> tuple[int, int]:
    """How many Spanish and English function words the text holds."""
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    return sum(w in _ES for w in words), sum(w in _EN for w in words)


def detect_language(text: str, default: str = "es") -> str:
    """«¿…?» and «¡…!» are Spanish; otherwise the function words decide, an accent or «ñ» counting as one more
    Spanish word (an English question may name «Lázaro»); a tie is `default`."""
    lowered = text.lower()
    if re.search(r"[¿¡]", lowered):
        return "es"
    es, en = _function_words(text)
    es += bool(re.search(r"[ñáéíóú]", lowered))
    if es == en:
        return default
    return "es" if es > en else "en"


def clearly_other_language(sentence: str, language: str) -> bool:
    """A sentence plainly written in the other language: several of its function words, few of this one's
    (names and quoted terms do not count, so «the Perú Compact» or «el Global Compact» pass)."""
    es, en = _function_words(sentence)
    mine, other = (es, en) if language == "es" else (en, es)
    return other >= 3 and other >= 2 * mine + 1

"""Language of a question: Spanish or English, from function words and Spanish-only signs."""

from __future__ import annotations

import re

_ES = set("el la los las de del que y en un una por para con no se su sus al lo como más qué cuál cuáles "
          "quién quiénes cómo dónde cuándo es son fue está hay sobre según entre también perú".split())
_EN = set("the of and to in is are was what which who how where when does did do for with on by about "
          "according from an a its their has have peru".split())


def detect_language(text: str, default: str = "es") -> str:
    if re.search(r"[¿¡ñáéíóú]", text.lower()):
        return "es"
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    es = sum(w in _ES for w in words)
    en = sum(w in _EN for w in words)
    if es == en:
        return default
    return "es" if es > en else "en"

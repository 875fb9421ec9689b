"""Personal data scrub: national ID numbers, e-mail addresses and phone numbers never reach the index."""

from __future__ import annotations

import re

_ID_NUMBER = re.compile(
    r"\b(DNI|D\.N\.I\.|C\.?E\.?|documento nacional de identidad|carn[eé] de extranjer[ií]a|pasaporte)"
    r"(\s*(?:N[°º.]?|n[uú]mero|nro\.?)?\s*:?\s*)([A-Z]?\d{8,9})\b",
    re.I,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<![\w/.,])(?:\+\d{1,3}[\s-]?)?(?:\(\d{1,4}\)[\s-]?)?\d{3}[\s-]\d{3}[\s-]\d{3,4}(?![\w/]|[.,]\d)")

REDACTED_ID = "[documento suprimido]"
REDACTED_EMAIL = "[correo suprimido]"
REDACTED_PHONE = "[teléfono suprimido]"


def scrub_personal_data(text: str) -> str:
    """Replace ID numbers, e-mail addresses and phone numbers with a visible redaction mark."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED_ID}", text)
    text = _EMAIL.sub(REDACTED_EMAIL, text)
    return _PHONE.sub(REDACTED_PHONE, text)

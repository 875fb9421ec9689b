"""OCR: pages without a text layer are rendered (pypdfium2) and read by Tesseract (pytesseract), in the
document's language, into paragraphs with a confidence figure.

Tesseract is a system program (Debian: `tesseract-ocr` plus a language pack such as `tesseract-ocr-spa`);
when it or the language data is missing, `OcrUnavailable` says exactly what to install.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from indexer.chunking import continues_paragraph
from indexer.settings import OcrSettings

# Tesseract's language packs by the ISO codes of the manifest; Spanish is the corpus default.
TESSERACT_LANGUAGES = {"es": "spa", "en": "eng", "fr": "fra", "pt": "por"}
APT_PACKAGES = {"spa": "tesseract-ocr-spa", "eng": "tesseract-ocr-eng", "fra": "tesseract-ocr-fra",
                "por": "tesseract-ocr-por"}


class OcrUnavailable(Exception):
    """Tesseract (or its data for a language) is not installed; the message says what to install."""


@dataclass
class OcrPage:
    paragraphs: list[str]
    confidence: float  # mean word confidence, 0-100, weighted by word length


def install_hint(language: str) -> str:
    pack = APT_PACKAGES.get(language, f"tesseract-ocr-{language}")
    return f"instale Tesseract: sudo apt-get install tesseract-ocr {pack} (o configure index.parsing.ocr.tesseract_cmd)"


@lru_cache(maxsize=8)
def _installed_languages(cmd: str) -> frozenset[str]:
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = cmd
    try:
        return frozenset(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError):
        return frozenset()


def check_available(settings: OcrSettings, language: str) -> None:
    """Raise OcrUnavailable unless Tesseract runs and has the data for `language` (a Tesseract code)."""
    if not (shutil.which(settings.tesseract_cmd) or Path(settings.tesseract_cmd).is_file()):
        raise OcrUnavailable(install_hint(language))
    if language not in _installed_languages(settings.tesseract_cmd):
        raise OcrUnavailable(install_hint(language))


def tesseract_language(document_language: str) -> str:
    return TESSERACT_LANGUAGES.get(document_language, "spa")


def _paragraphs(data: dict) -> OcrPage:
    """Tesseract's word table grouped into its paragraphs; hyphenated line ends joined."""
    groups: dict[tuple[int, int], list[list[str]]] = {}
    weighted, letters = 0.0, 0
    last_line: dict[tuple[int, int], int] = {}
    for i, word in enumerate(data["text"]):
        word = word.strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        key = (data["block_num"][i], data["par_num"][i])
        lines = groups.setdefault(key, [])
        if last_line.get(key) != data["line_num"][i]:
            lines.append([])
            last_line[key] = data["line_num"][i]
        lines[-1].append(word)
        weighted += conf * len(word)
        letters += len(word)
    paragraphs = []
    for lines in groups.values():
        text = ""
        for words in lines:
            line = " ".join(words)
            if text.endswith("-") and line[:1].islower():
                text = text[:-1] + line
            else:
                text = f"{text} {line}".strip()
        if not re.search(r"\w", text):
            continue
        if paragraphs and continues_paragraph(paragraphs[-1], text):
            paragraphs[-1] = f"{paragraphs[-1]} {text}"  # Tesseract cut a paragraph at a line end
        else:
            paragraphs.append(text)
    return OcrPage(paragraphs, weighted / letters if letters else 0.0)


def ocr_image(image, settings: OcrSettings, language: str) -> OcrPage:
    import pytesseract

    check_available(settings, language)
    pytesseract.pytesseract.tesseract_cmd = settings.tesseract_cmd
    # Pages are read in worker processes beside the embedder: one thread per Tesseract keeps the cores shared.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    data = pytesseract.image_to_data(image.convert("L"), lang=language, config="--psm 3",
                                     output_type=pytesseract.Output.DICT)
    return _paragraphs(data)


def ocr_pdf_page(path: Path, index: int, settings: OcrSettings, language: str) -> OcrPage:
    """Render page `index` (0-based) of a PDF and read it."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        image = document[index].render(scale=settings.render_scale).to_pil()
    finally:
        document.close()
    return ocr_image(image, settings, language)

"""Documents as a ministry receives them, generated for the tests and `make bench`: a two-column decree with a
running header and footer, hyphenated line ends and a footnote; an annex with a ruled table; a scanned oficio
(text drawn with Pillow, slightly rotated and blurred, saved as an image-only PDF); a text PDF with one
scanned page; a Word report; a saved web page. Each returns the facts a test asks about.
"""

from __future__ import annotations

from pathlib import Path

HEADER = "NORMAS LEGALES · Boletín Oficial · Lunes 5 de enero de 2026"
FOOTER = "Edición extraordinaria del Boletín Oficial del Estado"
DECREE_TITLE = "Decreto Supremo N° 031-2026-RE"

DECREE_ARTICLES = [
    ("Artículo 1.- Objeto",
     "El presente decreto supremo aprueba los lineamientos para la atención consular digital de los "
     "connacionales que residen en el exterior, con el fin de simplificar los trámites administrativos."),
    ("Artículo 2.- Ámbito de aplicación",
     "Los lineamientos son de cumplimiento obligatorio para todas las oficinas consulares y las secciones "
     "consulares de las embajadas, así como para la Dirección General de Comunidades Peruanas en el Exterior."),
    ("Artículo 3.- Plazo de respuesta",
     "Las oficinas consulares responden las solicitudes de asistencia humanitaria en un plazo máximo de "
     "quince días hábiles, contado desde la recepción de la solicitud en la ventanilla virtual consular."),
    ("Artículo 4.- Ventanilla virtual",
     "La ventanilla virtual consular recibe las solicitudes durante las veinticuatro horas del día y emite "
     "una constancia electrónica con el número de expediente asignado a cada trámite."),
    ("Artículo 5.- Financiamiento",
     "La implementación de lo dispuesto en el presente decreto supremo se financia con cargo al presupuesto "
     "institucional del pliego Ministerio de Relaciones Exteriores, sin demandar recursos adicionales."),
    ("DISPOSICIONES COMPLEMENTARIAS FINALES", ""),
    ("", "Primera.- Los consulados itinerantes atienden a las comunidades alejadas de la sede consular al "
         "menos cuatro veces al año, según el calendario que aprueba la Dirección General."),
    ("", "Segunda.- El presente decreto supremo entra en vigencia al día siguiente de su publicación en el "
         "diario oficial y es refrendado por el Ministro de Relaciones Exteriores."),
]
FOOTNOTE = "1 Aprobado por el Consejo de Ministros en la sesión del treinta de diciembre de dos mil veinticinco."

TABLE_CAPTION = "Anexo 1. Indicadores y metas de la atención consular"
TABLE_ROWS = [
    ["Eje", "Indicador", "Línea de base 2026", "Meta 2030"],
    ["1. Atención", "Tiempo de respuesta a solicitudes de asistencia", "45 días", "15 días"],
    ["2. Registro", "Connacionales inscritos en el registro consular", "1 200 000", "2 000 000"],
    ["3. Protección", "Casos de protección consular cerrados en el año", "8 500", "12 000"],
    ["4. Digital", "Trámites consulares realizados en línea", "30 %", "80 %"],
]

SCAN_LINES = [
    "OFICIO N° 245-2026-RE/DGC",
    "Lima, 12 de enero de 2026",
    "Señor Director General de Comunidades Peruanas en el Exterior:",
    "Tengo el agrado de dirigirme a usted para informarle que el",
    "Consulado General en Estambul atendió a treinta y ocho",
    "connacionales varados en el aeropuerto por la cancelación",
    "de sus vuelos. El consulado entregó alimentos y hospedaje",
    "durante cuatro noches y gestionó su retorno al Perú.",
    "Atentamente,",
    "Embajadora María Elena Quispe",
]
SCANNED_PAGE_LINES = [
    "ANEXO 2. ACTA DE ENTREGA",
    "El Consulado en Santiago entregó ciento veinte kits",
    "de higiene a las familias migrantes albergadas en",
    "el refugio municipal de Arica durante la emergencia.",
]


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of at most `width` points; a long word that does not fit is hyphenated («consu-» / «lares»)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if stringWidth(candidate, font, size) <= width:
            current = candidate
            continue
        cut = 0
        for k in range(len(word) - 3, 3, -1):
            if stringWidth(f"{current} {word[:k]}-".strip(), font, size) <= width:
                cut = k
                break
        if cut and word[:cut].isalpha():
            lines.append(f"{current} {word[:cut]}-".strip())
            current = word[cut:]
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _running_lines(c, number: int, width: float) -> None:
    c.setFont("Helvetica", 8)
    c.drawString(50, 815, HEADER)
    c.drawRightString(width - 50, 815, f"Página {number}")
    c.drawString(50, 28, FOOTER)
    c.drawRightString(width - 50, 28, str(number))


DECREE_LAYOUT = {(1, 0): [0, 1], (1, 1): [2], (2, 0): [3, 4], (2, 1): [5, 6, 7]}  # (page, column) → articles


def write_decree_pdf(path: Path) -> dict:
    """Two pages, two columns, a running header and footer, hyphenated line ends, a footnote; PDF title set."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    width, _ = A4
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle(DECREE_TITLE)
    column_width = (width - 100 - 24) / 2
    for page in (1, 2):
        _running_lines(c, page, width)
        top = 780
        if page == 1:
            c.setFont("Helvetica-Bold", 15)
            c.drawCentredString(width / 2, 770, DECREE_TITLE.upper())
            c.setFont("Helvetica", 10)
            c.drawCentredString(width / 2, 752, "Decreto supremo que aprueba los lineamientos de atención consular "
                                                "digital")
            top = 725
            c.setFont("Helvetica", 7)
            c.drawString(50, 60, FOOTNOTE)
        for column in (0, 1):
            x, y = 50 + column * (column_width + 24), top
            for index in DECREE_LAYOUT[(page, column)]:
                heading, body = DECREE_ARTICLES[index]
                if heading:
                    c.setFont("Helvetica-Bold", 10)
                    c.drawString(x, y, heading)
                    y -= 13
                c.setFont("Helvetica", 10)
                for line in _wrap(body, "Helvetica", 10, column_width) if body else []:
                    c.drawString(x, y, line)
                    y -= 13
                y -= 9
        c.showPage()
    c.save()
    article_pages = {DECREE_ARTICLES[i][0] or DECREE_ARTICLES[i][1][:8]: page
                     for (page, _), items in DECREE_LAYOUT.items() for i in items}
    return {"title": DECREE_TITLE, "pages": 2, "article_pages": article_pages, "header": HEADER, "footer": FOOTER,
            "footnote": FOOTNOTE}


def write_table_pdf(path: Path) -> dict:
    """Page 1: a short introduction; page 2: a ruled table with a caption and a two-line cell."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    width, height = A4
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(60, 780, "Plan de atención consular 2026-2030")
    c.setFont("Helvetica", 10)
    for i, line in enumerate(_wrap("El plan fija indicadores con su línea de base de 2026 y la meta que el "
                                   "servicio consular debe alcanzar en 2030. El anexo recoge los indicadores.",
                                   "Helvetica", 10, width - 120)):
        c.drawString(60, 750 - 14 * i, line)
    c.showPage()
    c.setFont("Helvetica-Bold", 11)
    c.drawString(60, 780, TABLE_CAPTION)
    widths = [90, 210, 100, 75]
    row_height = 34
    top = 765
    for r, row in enumerate(TABLE_ROWS):
        x = 60
        for cell, w in zip(row, widths, strict=True):
            c.rect(x, top - row_height * (r + 1), w, row_height)
            c.setFont("Helvetica-Bold" if r == 0 else "Helvetica", 9)
            for k, part in enumerate(_wrap(cell, "Helvetica", 9, w - 8)):
                c.drawString(x + 4, top - row_height * r - 13 - 11 * k, part)
            x += w
    c.setFont("Helvetica", 10)
    c.drawString(60, top - row_height * len(TABLE_ROWS) - 30, "Fuente: Dirección General de Comunidades Peruanas.")
    c.showPage()
    c.save()
    return {"table_page": 2, "rows": TABLE_ROWS, "caption": TABLE_CAPTION}


def scan_image(lines: list[str], rotate: float = 0.8, blur: float = 0.7, dpi: int = 200):
    """An A4 page image with the lines typed on it, slightly rotated and blurred, as a scanner gives it."""
    import reportlab
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    font_path = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    width, height = int(8.27 * dpi), int(11.69 * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(font_path), int(dpi * 0.15))
    y = int(dpi * 1.2)
    for line in lines:
        draw.text((int(dpi * 1.0), y), line, font=font, fill=20)
        y += int(dpi * 0.32)
    image = image.rotate(rotate, resample=Image.BICUBIC, fillcolor=255, expand=False)
    return image.filter(ImageFilter.GaussianBlur(blur))


def write_scan_pdf(path: Path, lines: list[str] = SCAN_LINES, **kw) -> dict:
    """An image-only PDF: no text layer at all."""
    image = scan_image(lines, **kw)
    image.convert("RGB").save(str(path), "PDF", resolution=200)
    return {"text": "\n".join(lines), "pages": 1}


def write_mixed_pdf(path: Path) -> dict:
    """Three pages: text, a scanned page (an image, no text), text."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    width, height = A4
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setTitle("Informe de emergencia migratoria en la frontera sur")
    texts = {
        1: ["Informe de emergencia migratoria en la frontera sur",
            "El informe describe la respuesta consular a la llegada de familias migrantes a la frontera.",
            "Las actas firmadas se adjuntan escaneadas en el anexo."],
        3: ["Conclusiones", "La coordinación con los municipios fronterizos permitió atender a todas las familias."],
    }
    for number in (1, 2, 3):
        if number == 2:
            buffer = io.BytesIO()
            scan_image(SCANNED_PAGE_LINES).convert("RGB").save(buffer, "PNG")
            buffer.seek(0)
            c.drawImage(ImageReader(buffer), 0, 0, width=width, height=height)
        else:
            c.setFont("Helvetica", 11)
            for i, line in enumerate(texts[number]):
                c.drawString(60, 780 - 18 * i, line)
        c.showPage()
    c.save()
    return {"scanned_page": 2, "scanned_text": "\n".join(SCANNED_PAGE_LINES)}


DOCX_TITLE = "Informe anual de la Dirección de Protección Consular 2025"


def write_docx(path: Path) -> dict:
    """Word title in the core properties, headings, a bulleted list and a table with a header row."""
    import docx

    document = docx.Document()
    document.core_properties.title = DOCX_TITLE
    document.add_heading("Resumen ejecutivo", level=1)
    document.add_paragraph("Durante 2025 la Dirección de Protección Consular reforzó la atención a los "
                           "connacionales detenidos en el exterior y amplió la red de abogados de oficio.")
    document.add_heading("Acciones prioritarias", level=2)
    for item in ("Visitas carcelarias trimestrales en Europa y Asia.",
                 "Convenios con colegios de abogados de Chile, Argentina y España.",
                 "Línea telefónica de emergencia consular atendida las veinticuatro horas."):
        document.add_paragraph(item, style="List Bullet")
    document.add_heading("Resultados", level=1)
    document.add_paragraph("Tabla 1. Casos atendidos por región")
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("Región", "Casos 2024", "Casos 2025"), strict=True):
        cell.text = text
    for row in (("América del Sur", "1 850", "2 140"), ("Europa", "960", "1 115"), ("Asia", "310", "402")):
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    document.add_paragraph("La región con más casos atendidos fue América del Sur.")
    document.save(str(path))
    return {"title": DOCX_TITLE}


HTML_PAGE = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Comunicado oficial | Cancillería</title>
<style>body { font-family: sans-serif; }</style><script>window.tracker = "no";</script></head>
<body>
<header><nav><a href="/">Inicio</a> · <a href="/prensa">Sala de prensa</a> · <a href="/tramites">Trámites</a></nav></header>
<main><article>
<h1>Comunicado 012-2026: nuevo horario de atención consular</h1>
<p>La Cancillería informa que desde el 1 de febrero de 2026 los consulados del Perú en Europa atenderán
al público de lunes a sábado, de ocho de la mañana a cuatro de la tarde.</p>
<h2>Servicios incluidos</h2>
<ul><li>Emisión y renovación de pasaportes biométricos.</li>
<li>Inscripción de nacimientos y matrimonios en el registro civil consular.</li></ul>
<h2>Consulados con cita previa</h2>
<table><caption>Tabla 2. Consulados que exigen cita previa</caption>
<thead><tr><th>Consulado</th><th>Plazo de cita</th></tr></thead>
<tbody><tr><td>Madrid</td><td>10 días</td></tr><tr><td>Milán</td><td>7 días</td></tr></tbody></table>
</article></main>
<footer><p>© 2026 Ministerio de Relaciones Exteriores · Jr. Lampa 545, Lima</p></footer>
</body></html>
"""


def write_html(path: Path) -> dict:
    path.write_text(HTML_PAGE, encoding="utf-8")
    return {"title": "Comunicado 012-2026: nuevo horario de atención consular"}


def character_accuracy(recognised: str, truth: str) -> float:
    """1 − (Levenshtein distance / length of the truth), whitespace normalised: how well OCR read a page."""
    import re

    a, b = (re.sub(r"\s+", " ", text).strip() for text in (recognised, truth))
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1 - previous[-1] / len(b)

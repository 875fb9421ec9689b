"""Checks corpus/catalog.json and corpus/manifest.json against the corpus texts themselves.

Every expectation is re-derived here from the thesis / GCM files (no hard-coded copy of the catalog),
so a wrong entry in the catalog makes a test fail.
"""

import json
import re
from pathlib import Path

import pytest

CORPUS = Path(__file__).parents[1] / "corpus"
THESIS_FILE = CORPUS / "tesis_bendezu_2022_pmm_peru.md"
GCM_FILE = CORPUS / "gcm_objectives_actions_en.txt"


@pytest.fixture(scope="module")
def catalog():
    return json.loads((CORPUS / "catalog.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest():
    return json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def thesis_lines():
    return THESIS_FILE.read_text(encoding="utf-8").split("\n")


def _strip_toc(line):
    """ÍNDICE entry -> heading text (drop TAB + page number and dotted leaders)."""
    text = line.split("\t")[0]
    return re.sub(r"\s*\.{2,}\s*$", "", text).strip()


def _section(lines, start, end):
    i = lines.index(start)
    j = lines.index(end, i + 1)
    return lines[i + 1 : j]


def _table_rows(lines, label):
    """Lines of table `label` (e.g. 'Tabla 3.') up to its 'Nota:' line."""
    i = lines.index(label)
    rows = []
    for line in lines[i + 1 :]:
        if line.startswith("Nota:"):
            return rows
        rows.append(line)
    raise AssertionError(f"{label} has no closing Nota line")


@pytest.fixture(scope="module")
def tabla3(thesis_lines):
    out = {}
    for line in _table_rows(thesis_lines, "Tabla 3."):
        m = re.match(r"(\d+)\t(.+)$", line)
        if m:
            out[int(m.group(1))] = m.group(2).strip()
    return out


@pytest.fixture(scope="module")
def indice(thesis_lines):
    """First (Chapter III results) set of 'Área temática' blocks and the PNM 'Eje temático' blocks of the ÍNDICE."""
    entries = [_strip_toc(x) for x in _section(thesis_lines, "ÍNDICE", "ÍNDICE DE TABLAS") if x.strip()]
    areas, ejes = {}, {}
    cur_area = cur_eje = None
    for e in entries:
        m = re.match(r"Área temática (\d+): (.+)$", e)
        if m:
            n = int(m.group(1))
            cur_eje = None
            if n in areas:  # the Discussion chapter repeats the areas without objectives
                cur_area = None
                continue
            areas[n] = {"title": m.group(2), "objectives": []}
            cur_area = n
            continue
        m = re.match(r"Objetivo (\d+): (.+)$", e)
        if m and cur_area is not None:
            areas[cur_area]["objectives"].append((int(m.group(1)), m.group(2)))
            continue
        m = re.match(r"Eje temático (\d+): (.+)$", e)
        if m:
            cur_area = None
            cur_eje = int(m.group(1))
            ejes[cur_eje] = {"heading": m.group(2), "lineamientos": []}
            continue
        m = re.match(r"Lineamiento (\d+): (.+)$", e)
        if m and cur_eje is not None:
            ejes[cur_eje]["lineamientos"].append((int(m.group(1)), m.group(2)))
            continue
        if e and not e.isdigit():  # a stray page number line does not end a block
            cur_area = None
            cur_eje = None
    return areas, ejes


@pytest.fixture(scope="module")
def tabla22(thesis_lines):
    """Lineamiento rows of Tabla 22: code -> (eje label of the block, title, aligned PMM objectives)."""
    rows = {}
    label = None
    for line in _table_rows(thesis_lines, "Tabla 22."):
        cells = line.split("\t")
        if len(cells) > 3 and re.fullmatch(r"L\d\.\d", cells[1]):
            if cells[0].strip():
                label = cells[0].strip()
            code = cells[1]
            title = re.sub(r"^\d+\.\s*", "", cells[2]).strip()
            objs = [int(x) for x in re.findall(re.escape(code) + r" con O(\d+)", cells[3])]
            rows[code] = (label, title, objs)
    return rows


# ---------------------------------------------------------------- PMM objectives


def test_23_objectives_numbered_1_to_23(catalog):
    assert [o["number"] for o in catalog["pmm_objectives"]] == list(range(1, 24))


def test_tabla3_parsed(tabla3):
    assert sorted(tabla3) == list(range(1, 24))


def test_objective_title_es_matches_tabla3(catalog, tabla3):
    for o in catalog["pmm_objectives"]:
        assert o["title_es"] == tabla3[o["number"]].rstrip(".").strip(), o["number"]


def test_objective_title_en_matches_gcm(catalog):
    gcm = {
        int(m.group(1)): m.group(2).strip()
        for m in re.finditer(r"^Objective (\d+): (.+)$", GCM_FILE.read_text(encoding="utf-8"), re.M)
    }
    assert sorted(gcm) == list(range(1, 24))
    for o in catalog["pmm_objectives"]:
        assert o["title_en"] == gcm[o["number"]], o["number"]


def test_every_objective_in_an_area_and_23_in_all(catalog):
    for o in catalog["pmm_objectives"]:
        assert o["areas"], o["number"]
        assert set(o["areas"]) <= {1, 2, 3, 4, 5}
        if o["number"] == 23:
            assert sorted(o["areas"]) == [1, 2, 3, 4, 5]
        else:
            assert len(o["areas"]) == 1, o["number"]


def test_objective_short_names_match_indice(catalog, indice):
    areas, _ = indice
    short = {}
    for a in areas.values():
        for n, name in a["objectives"]:
            short.setdefault(n, name)
    assert sorted(short) == list(range(1, 24))
    for o in catalog["pmm_objectives"]:
        assert o["short_es"] == short[o["number"]], o["number"]


# ---------------------------------------------------------------- PMM áreas temáticas


def test_areas_match_indice(catalog, indice):
    areas, _ = indice
    assert sorted(areas) == [1, 2, 3, 4, 5]
    assert [a["number"] for a in catalog["pmm_areas"]] == [1, 2, 3, 4, 5]
    for a in catalog["pmm_areas"]:
        expected = areas[a["number"]]
        assert a["title_es"] == expected["title"]
        expected_objs = [n for n, _ in expected["objectives"]]
        if "objectives" in a:
            assert a["objectives"] == expected_objs
        in_area = sorted(o["number"] for o in catalog["pmm_objectives"] if a["number"] in o["areas"])
        assert in_area == sorted(expected_objs), a["number"]


def test_area_grouping_is_not_tabla8_shifted(catalog):
    # Tabla 8 prints the label of areas 2-5 on their *second* objective; the true first objectives are these.
    by_num = {o["number"]: o for o in catalog["pmm_objectives"]}
    assert by_num[2]["areas"] == [2]
    assert by_num[9]["areas"] == [3]
    assert by_num[5]["areas"] == [4]
    assert by_num[4]["areas"] == [5]


def test_area_title_variants_occur_in_thesis(catalog):
    text = THESIS_FILE.read_text(encoding="utf-8")
    for a in catalog["pmm_areas"]:
        for v in a.get("title_variants_es", []):
            assert f"Área temática {a['number']}: {v}" in text


# ---------------------------------------------------------------- PNM ejes / lineamientos


def test_four_ejes_with_3_9_3_5_lineamientos(catalog):
    ejes = catalog["pnm_ejes"]
    assert [e["number"] for e in ejes] == [1, 2, 3, 4]
    assert [len(e["lineamientos"]) for e in ejes] == [3, 9, 3, 5]
    for e in ejes:
        assert [lin["number"] for lin in e["lineamientos"]] == list(range(1, len(e["lineamientos"]) + 1))
        assert [lin["code"] for lin in e["lineamientos"]] == [
            f"L{e['number']}.{i}" for i in range(1, len(e["lineamientos"]) + 1)
        ]


def test_eje_order_follows_tabla21_and_tabla22(catalog, thesis_lines, tabla22):
    t21 = [
        re.sub(r"^\d+\.\s*", "", line.split("\t")[0]).strip()
        for line in _table_rows(thesis_lines, "Tabla 21.")
        if re.match(r"\d+\. ", line)
    ]
    assert len(t21) == 4
    for e in catalog["pnm_ejes"]:
        assert e["title_es"] == t21[e["number"] - 1]
        assert e["title_es"] == tabla22[f"L{e['number']}.1"][0]
    assert "voluntad de migrar" in catalog["pnm_ejes"][0]["title_es"]
    assert "exterior" in catalog["pnm_ejes"][1]["title_es"]


def test_eje_order_follows_chapter2(catalog):
    text = THESIS_FILE.read_text(encoding="utf-8")
    m = re.search(r"1\) (.+?); 2\) (.+?); 3\) (.+?); y, 4\) (.+?)\.", text)
    assert m, "Chapter II list of the four ejes not found"
    names = [g.lower() for g in m.groups()]
    assert "voluntad de migrar" in names[0] and "voluntad de migrar" in catalog["pnm_ejes"][0]["title_es"]
    assert "exterior" in names[1] and "exterior" in catalog["pnm_ejes"][1]["title_es"].lower()
    assert "retornan" in names[2] and "retornan" in catalog["pnm_ejes"][2]["title_es"].lower()
    assert "extranjera" in names[3] and "extranjeros" in catalog["pnm_ejes"][3]["title_es"].lower()


def test_lineamiento_codes_titles_and_alignment_from_tabla22(catalog, tabla22):
    text = THESIS_FILE.read_text(encoding="utf-8")
    codes = []
    for e in catalog["pnm_ejes"]:
        for lin in e["lineamientos"]:
            codes.append(lin["code"])
            assert lin["code"] in text
            label, title, objs = tabla22[lin["code"]]
            assert lin["title_es"] == title, lin["code"]
            assert lin["pmm_objectives"] == objs, lin["code"]
            assert lin["pmm_objectives"], lin["code"]
            assert all(1 <= n <= 23 for n in lin["pmm_objectives"])
    assert sorted(codes) == sorted(tabla22)


def test_tabla22_example_alignment(catalog):
    lins = {x["code"]: x for e in catalog["pnm_ejes"] for x in e["lineamientos"]}
    assert lins["L2.1"]["pmm_objectives"] == [23, 7, 19, 4]
    assert lins["L1.1"]["pmm_objectives"] == [3]


def test_lineamiento_short_names_and_aliases_match_chapter3(catalog, indice, thesis_lines):
    _, ejes = indice
    assert sorted(ejes) == [1, 2, 3, 4]
    body = set(thesis_lines)
    for e in catalog["pnm_ejes"]:
        # the ÍNDICE / Chapter III block with the same number carries this eje's lineamientos
        # (only the eje *names* of blocks 1 and 2 are swapped there)
        block = ejes[e["number"]]
        assert [s for _, s in block["lineamientos"]] == [lin["short_es"] for lin in e["lineamientos"]]
        assert block["heading"] in e["aliases_es"]
        for alias in e["aliases_es"]:
            assert f"Eje temático {e['number']}: {alias}" in body  # the Chapter III heading line
        for lin in e["lineamientos"]:
            assert f"Lineamiento {lin['number']}: {lin['short_es']}" in body


def test_swapped_chapter3_names_are_only_aliases(catalog):
    eje1, eje2 = catalog["pnm_ejes"][0], catalog["pnm_ejes"][1]
    assert any("exterior" in a for a in eje1["aliases_es"])
    assert "exterior" not in eje1["title_es"]
    assert any("voluntad" in a for a in eje2["aliases_es"])
    assert "voluntad" not in eje2["title_es"]


# ---------------------------------------------------------------- acronyms


def test_acronyms_come_from_siglas(catalog, thesis_lines):
    siglas = [x for x in _section(thesis_lines, "SIGLAS Y ACRÓNIMOS", "ÍNDICE") if x.strip()]
    pairs = []
    i = 0
    while i < len(siglas):
        line = siglas[i]
        if "\t" in line:
            a, e = line.split("\t", 1)
        else:  # e.g. "SDR" with its expansion on the next non-blank line
            a, e = line, siglas[i + 1]
            i += 1
        i += 1
        pairs.append((a.strip(), e.strip()))
    acr = [(item["acronym"], item["expansion_es"]) for item in catalog["acronyms"]]
    for pair in acr:
        assert pair in pairs, pair
    names = [a for a, _ in acr]
    assert len(names) == len(set(names))  # MERCOSUR is listed twice in the thesis
    assert set(acr) == set(pairs)  # complete
    assert ("SDR", "Servicio Diplomático de la República") in acr
    assert ("MERCOSUR", "Mercado Común del Sur") in acr


# ---------------------------------------------------------------- manifest


def test_manifest_files_exist_and_ids_unique(manifest):
    docs = manifest["documents"]
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids))
    assert {"tesis_bendezu_2022", "gcm_2018_en"} <= set(ids)
    keys = {"id", "title", "kind", "language", "authority", "year", "file", "notes", "citation"}
    for d in docs:
        assert keys <= set(d), d["id"]
        assert (CORPUS / d["file"]).is_file(), d["file"]


def test_manifest_entries(manifest):
    by_id = {d["id"]: d for d in manifest["documents"]}
    t = by_id["tesis_bendezu_2022"]
    assert (t["kind"], t["file"], t["authority"], t["year"], t["citation"]) == (
        "thesis", THESIS_FILE.name, "Academia Diplomática del Perú", 2022, "Tesis (Bendezú, 2022)")
    g = by_id["gcm_2018_en"]
    assert (g["kind"], g["file"], g["authority"], g["year"], g["language"], g["citation"]) == (
        "normative", GCM_FILE.name, "Asamblea General de las Naciones Unidas", 2018, "en", "GCM (A/RES/73/195)")
    assert "Objetivo 20" in g["notes"] or "Objective 20" in g["notes"]


def test_json_files_are_utf8_not_ascii_escaped():
    for name in ("catalog.json", "manifest.json"):
        raw = (CORPUS / name).read_bytes().decode("utf-8")
        assert "\\u00" not in raw, name

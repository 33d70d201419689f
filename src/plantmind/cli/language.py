"""``plantmind language check|detect``: a supplier or regional message checked against a
spec and the plant glossary, or just its language, from the command line. Wiring only:
the work is in :mod:`plantmind.language.check`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from plantmind.cli.common import console, fail, plant_or_fail

__all__ = ["language_app"]

language_app = typer.Typer(
    help="Multilingual coordination: languages, units, dates and modality in messages.",
    no_args_is_help=True,
)

PlantOpt = Annotated[
    Path | None,
    typer.Option(
        "--plant",
        help="plant.yaml whose model router translates the message (default: no translation).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
LanguagesOpt = Annotated[
    str | None,
    typer.Option(
        "--languages",
        help="Languages to tell apart, comma separated ISO 639-1 codes "
        "(default: PLANTMIND_LANGUAGES or en,de,fr,es,zh,it,pt,nl,pl,ja).",
    ),
]


def _languages(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _read_message(message: str | None, file: Path | None) -> str:
    if file is not None:
        if message is not None:
            raise fail("give the message as an argument or with --file, not both")
        try:
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(f"{file}: cannot read ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise fail(f"{file}: not UTF-8 text") from None
    if message is None:
        raise fail("give a MESSAGE, '-' to read standard input, or --file")
    return _stdin() if message == "-" else message


def _stdin() -> str:
    """Standard input as UTF-8 text; binary input ends the command with a clear error."""
    try:
        return sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError:
        raise fail("standard input: not UTF-8 text") from None
    except AttributeError:  # a text-only stream (tests, embedding)
        return sys.stdin.read()


def _not_empty(text: str, what: str) -> str:
    if not text.strip():
        raise fail(f"{what}: the message is empty; nothing to check")
    return text


@language_app.command("check")
def check(
    message: Annotated[
        str | None, typer.Argument(help="The message text, or '-' for standard input.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Read the message from a file.")
    ] = None,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Specification (YAML or JSON) to check against.")
    ] = None,
    glossary: Annotated[
        Path | None, typer.Option("--glossary", help="Plant glossary CSV (concept,en,de,...).")
    ] = None,
    locale: Annotated[
        str | None, typer.Option("--locale", help="The sender's locale, e.g. de-DE, en-US.")
    ] = None,
    receiver_locale: Annotated[
        str | None,
        typer.Option("--receiver-locale", help="The reader's locale (default: the spec's)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Translate into this language (default: the spec's, else en)."),
    ] = None,
    translate: Annotated[
        bool, typer.Option("--translate/--no-translate", help="Ask the model for a translation.")
    ] = True,
    languages: LanguagesOpt = None,
    plant: PlantOpt = None,
    as_json: JsonOpt = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 1 when any flag is raised.")
    ] = False,
) -> None:
    """Check a message: quantities, units, tolerances, dates, part numbers, glossary terms and
    modality against the spec, with a flag for each difference that can cause an error.
    ``--plant`` names the plant.yaml whose model router translates the message; with
    ``--strict`` a flagged message ends the command with exit code 1 (for scripts)."""
    from plantmind.language.check import check_message
    from plantmind.language.glossary import Glossary, GlossaryError
    from plantmind.language.spec import SpecError, load_spec

    text = _not_empty(
        _read_message(message, file),
        str(file) if file is not None else "standard input" if message == "-" else "MESSAGE",
    )
    try:
        sp = load_spec(spec) if spec is not None else None
        gl = Glossary.from_csv(glossary) if glossary is not None else None
    except (SpecError, GlossaryError) as exc:
        raise fail(str(exc)) from None
    router = None
    if plant is not None and translate:
        from plantmind.llm.router import Router

        model, plant_path = plant_or_fail(plant)
        router = Router.from_plant(model, None, base_dir=plant_path.parent)
    try:
        report = check_message(
            text, spec=sp, glossary=gl, sender_locale=locale, receiver_locale=receiver_locale,
            router=router, target_language=to, languages=_languages(languages),
            translate_message=translate,
        )  # fmt: skip
    except ValueError as exc:
        raise fail(str(exc)) from None
    finally:
        if router is not None:
            router.close()
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _print_report(report.to_dict())
    if strict and report.flags:
        raise typer.Exit(1)


def _print_report(r: dict[str, Any]) -> None:
    lang = r["language"]
    extra = f" (also {', '.join(r['languages'][1:])})" if len(r["languages"]) > 1 else ""
    console.print(f"[bold]language:[/] {lang}{extra} — {r['language_detail']['reason']}")
    rows = Table(show_header=True, header_style="bold", box=None)
    for col in ("what", "written", "read as", "concept"):
        rows.add_column(col)
    for q in r["quantities"]:
        val = "ambiguous" if q["value"] is None else f"{q['value']:g} {q['unit']}"
        if q["tol_plus"] is not None:
            val += f" +{q['tol_plus']:g}/-{q['tol_minus']:g}"
        rows.add_row("quantity", q["span"]["text"], val, q["concept"] or "")
    for n in r["numbers"]:
        val = "ambiguous" if n["value"] is None else f"{n['value']:g}"
        rows.add_row("number", n["span"]["text"], val, n["concept"] or "")
    for d in r["dates"]:
        rows.add_row("date", d["span"]["text"], d["date"] or "ambiguous", "")
    for p in r["part_numbers"]:
        rows.add_row("part number", p["span"]["text"], p["value"], "")
    for t in r["terms"]:
        rows.add_row("term", t["span"]["text"], t["term"], t["concept"])
    if rows.row_count:
        console.print(rows)
    if r["flags"]:
        console.print(f"[bold red]{len(r['flags'])} flag(s):[/]")
        for f in r["flags"]:
            console.print(f"  [red]{f['code']}[/]: {f['message']}", highlight=False)
    else:
        console.print("[green]no flags[/]")
    for n in r["not_analysed"]:
        console.print(f"  [yellow]not analysed[/] {n['what']}: {n['why']}", highlight=False)
    tr = r["translation"]
    if tr and tr["text"]:
        console.print(f"[bold]translation ({tr['target']}, {tr['model']}):[/] {tr['text']}")


@language_app.command("detect")
def detect(
    text: Annotated[str, typer.Argument(help="The text, or '-' for standard input.")],
    languages: LanguagesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the language of a text, sentence by sentence; mixed and unknown say why."""
    from plantmind.language.detect import get_detector

    body = _not_empty(
        _stdin() if text == "-" else text, "standard input" if text == "-" else "TEXT"
    )
    try:
        det = get_detector(_languages(languages))
    except ValueError as exc:
        raise fail(str(exc)) from None
    res = det.detect(body)
    out = res.to_dict() | {"detector": {"languages": list(det.languages),
                                        "load_s": round(det.load_s, 3)}}  # fmt: skip
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    console.print(f"[bold]{res.language}[/] — {res.reason}", highlight=False)
    for s in res.segments:
        console.print(f"  {s.language or '?':8} {s.span.text!r} ({s.reason})", highlight=False)

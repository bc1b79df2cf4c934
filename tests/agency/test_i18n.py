"""Simplified Chinese: the catalogue is complete and compiled, and the API answers in the request's language.

A project-wide check over every app's strings and templates, so it lives under tests/agency/."""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import polib
import pytest
from django.utils import timezone, translation
from django.utils.translation.template import templatize

from agency.accounts.models import User
from cases.models import Case
from casework import services

ROOT = Path(__file__).resolve().parents[2]
PO_PATH = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
SOURCE_DIRS = ("agency", "cases", "evidence", "workflows", "integrations", "web")
# Templates: every .html and .txt under a templates/ folder of SOURCE_DIRS.
TEMPLATE_SUFFIXES = (".html", ".txt")

# A plain string literal: one, no f-string, no concatenation.
STRING_LITERAL = r"[rRuU]?\"(?:[^\"\\\n]|\\.)*\"|[rRuU]?'(?:[^'\\\n]|\\.)*'"

# Any call of a gettext function, and the forms makemessages and this test can both read:
# plain string literals as the first argument (the first two for ngettext). The project marks
# strings with _, gettext, gettext_lazy and ngettext only; the others are listed so that a first
# use of them (which the extraction below would not understand) fails here instead of going
# unchecked.
GETTEXT_CALL = re.compile(
    r"(?<![\w.])(?:_|gettext|gettext_lazy|ngettext|ngettext_lazy|pgettext|pgettext_lazy|npgettext|gettext_noop)\("
)
LITERAL_CALL = re.compile(
    rf"(?<![\w.])(?:_|gettext|gettext_lazy)\(\s*(?P<literal>{STRING_LITERAL})\s*[,)]"
    rf"|(?<![\w.])(?:ngettext|ngettext_lazy)\(\s*(?P<singular>{STRING_LITERAL})\s*,\s*(?P<plural>{STRING_LITERAL})\s*,"
)

# What Django's templatize (makemessages' reading of a template) writes for {% translate %} and
# {% blocktranslate %}, with or without count and context: a call on repr()'d literals.
TEMPLATE_CALL = re.compile(r"(?<![\w.])(?P<function>_|gettext|ngettext|pgettext|npgettext)\(")
TEMPLATE_ARGUMENTS = re.compile(
    rf"\(\s*(?P<literals>(?:{STRING_LITERAL})(?:\s*,\s*(?:{STRING_LITERAL}))*)\s*(?:,\s*count\s*)?\)"
)

# (msgctxt, msgid, msgid_plural), "" where there is none: what a catalogue entry must match.
Msgid = tuple[str, str, str]

Catalogue = dict[tuple[str, str], str | tuple[str, ...]]


def _catalogue(entries: Iterable[Any]) -> Catalogue:
    """(msgctxt, msgid) -> msgstr, or every plural form in order, for the non-header entries."""
    return {
        (entry.msgctxt or "", entry.msgid): (
            tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)) if entry.msgid_plural else entry.msgstr
        )
        for entry in entries
        if entry.msgid
    }


@functools.cache
def _po() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def zh(msgid: str) -> str:
    """The catalogue's translation, read from the .po independently of Django's machinery."""
    entry = _po().find(msgid)
    assert entry is not None, f"{msgid!r} is not in the catalogue"
    assert entry.msgstr, f"{msgid!r} is not translated"
    assert entry.msgstr != msgid
    return str(entry.msgstr)


def en(msgid: str) -> str:
    return msgid


TRANSLATE: dict[str, Callable[[str], str]] = {"zh-hans": zh, "en": en}


def _source_files() -> Iterator[Path]:
    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def _msgids_in_code() -> dict[Msgid, list[str]]:
    """msgid -> the places that use it; fails on any gettext call the regex cannot read."""
    found: dict[Msgid, list[str]] = {}
    unreadable = []
    for path in _source_files():
        text = path.read_text(encoding="utf-8")
        literal_calls = {match.start(): match for match in LITERAL_CALL.finditer(text)}
        for call in GETTEXT_CALL.finditer(text):
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, call.start()) + 1}"
            match = literal_calls.get(call.start())
            if match is None:
                unreadable.append(where)
                continue
            if match["literal"]:
                msgid: Msgid = ("", ast.literal_eval(match["literal"]), "")
            else:
                msgid = ("", ast.literal_eval(match["singular"]), ast.literal_eval(match["plural"]))
            found.setdefault(msgid, []).append(where)
    assert not unreadable, (
        "Mark strings with _(), gettext() or gettext_lazy() and one plain string literal, or ngettext() "
        "and two (no f-strings, variables or concatenation), or teach this test the new form: "
        f"{unreadable}"
    )
    return found


def _template_files() -> Iterator[Path]:
    for directory in SOURCE_DIRS:
        for templates in sorted((ROOT / directory).rglob("templates")):
            for path in sorted(templates.rglob("*")):
                if path.suffix in TEMPLATE_SUFFIXES and path.is_file():
                    yield path


def _msgids_in_templates() -> dict[Msgid, list[str]]:
    """msgid -> the templates that use it, read as makemessages reads them (templatize)."""
    found: dict[Msgid, list[str]] = {}
    unreadable = []
    for path in _template_files():
        name = str(path.relative_to(ROOT))
        # templatize keeps the template's lines, as makemessages' line numbers rely on.
        text = templatize(path.read_text(encoding="utf-8"), origin=name)
        for call in TEMPLATE_CALL.finditer(text):
            where = f"{name}:{text.count(chr(10), 0, call.start()) + 1}"
            arguments = TEMPLATE_ARGUMENTS.match(text, call.end() - 1)
            if arguments is None:
                unreadable.append(f"{where}: {text[call.start() : call.start() + 80]!r}")
                continue
            literals = [ast.literal_eval(literal) for literal in re.findall(STRING_LITERAL, arguments["literals"])]
            function = call["function"]
            context = literals.pop(0) if function in ("pgettext", "npgettext") else ""
            plural = literals.pop() if function in ("ngettext", "npgettext") else ""
            assert len(literals) == 1, f"{where}: {text[call.start() : arguments.end()]!r}"
            found.setdefault((context, literals[0], plural), []).append(where)
    assert not unreadable, f"Translation tags this test cannot read; teach it the new form: {unreadable}"
    return found


def _msgids_in_catalogue() -> set[Msgid]:
    return {(entry.msgctxt or "", entry.msgid, entry.msgid_plural or "") for entry in _po() if not entry.obsolete}


def _compile_script() -> Any:
    # locale/ is not a package (it would shadow the standard library's locale), so load it by path.
    spec = importlib.util.spec_from_file_location("locale_compile", ROOT / "locale" / "compile.py")
    assert spec is not None
    assert spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _back_to_default_language() -> Iterator[None]:
    # LocaleMiddleware activates the request's language and leaves it active in the thread;
    # later tests that call services directly expect the default language.
    yield
    translation.deactivate()


# --- The catalogue ---------------------------------------------------------------------


def test_every_entry_is_translated_and_none_is_fuzzy() -> None:
    po = _po()

    assert not po.metadata_is_fuzzy, "the header is marked fuzzy"
    assert [entry.msgid for entry in po.untranslated_entries()] == []
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    assert po.metadata.get("Content-Type") == "text/plain; charset=UTF-8"
    assert len(po.translated_entries()) > 50  # a sanity floor: the file is the real catalogue


def test_committed_mo_matches_the_po() -> None:
    """Edit the .po, then run: .venv/bin/python locale/compile.py (and commit the .mo)."""
    expected = _catalogue(_po().translated_entries())
    compiled = _catalogue(polib.mofile(str(MO_PATH)))

    assert compiled == expected


def test_translations_keep_the_placeholders() -> None:
    """A dropped or renamed %(name)s raises at runtime, and only for Chinese requests."""
    compile_script = _compile_script()
    bad = polib.POFile()
    bad.append(polib.POEntry(msgid="Case %(reference)s", msgstr="案件 %(ref)s", flags=["python-format"]))

    assert compile_script.placeholder_errors(_po()) == []
    assert len(compile_script.placeholder_errors(bad)) == 1


def test_compile_script_compiles_the_translated_entries(tmp_path: Path) -> None:
    compile_script = _compile_script()
    mo_path = tmp_path / "django.mo"

    _po_file, errors = compile_script.compile_catalogue(PO_PATH, mo_path)

    assert errors == []
    assert _catalogue(polib.mofile(str(mo_path))) == _catalogue(_po().translated_entries())


def test_every_msgid_in_the_code_is_in_the_catalogue() -> None:
    """Run makemessages (see the .po header) and translate, when this fails on a new string."""
    in_code = _msgids_in_code()
    in_catalogue = _msgids_in_catalogue()

    missing = {msgid: places for msgid, places in in_code.items() if msgid not in in_catalogue}

    assert len(in_code) > 50  # the extraction finds the project's strings at all
    assert missing == {}


def test_every_msgid_in_the_templates_is_in_the_catalogue() -> None:
    """{% translate %} and {% blocktranslate %} (its {{ x }} read as %(x)s, with count a plural entry)."""
    in_templates = _msgids_in_templates()
    in_catalogue = _msgids_in_catalogue()

    missing = {msgid: places for msgid, places in in_templates.items() if msgid not in in_catalogue}

    assert len(in_templates) > 50  # the extraction finds the pages' strings at all
    assert any(plural for _context, _msgid, plural in in_templates)  # and reads blocktranslate count
    assert missing == {}


# --- The API in the request's language ---------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_portal_case_detail_state_display(
    api: Callable[[User], Any], alice: User, case_in: Callable[..., Case], language: str
) -> None:
    case = case_in("intake")

    response = api(alice).get(f"/api/v1/portal/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert response.data["state"] == "intake"
    assert response.data["state_display"] == TRANSLATE[language]("Intake")
    assert response.data["shop"]["platform_display"] == TRANSLATE[language]("Tmall")


@pytest.mark.parametrize("accept_language", ["zh-CN,zh;q=0.9,en;q=0.8", "zh", "zh-Hans-CN"])
def test_browser_chinese_variants_get_simplified_chinese(
    api: Callable[[User], Any], alice: User, case_in: Callable[..., Case], accept_language: str
) -> None:
    case = case_in("intake")

    response = api(alice).get(f"/api/v1/portal/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE=accept_language)

    assert response.status_code == 200
    assert response.data["state_display"] == zh("Intake")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_portal_timeline_in_the_request_language(
    api: Callable[[User], Any], alice: User, supervisor: User, case_in: Callable[..., Case], language: str
) -> None:
    case = case_in("resolved")
    services.case_transition(case_id=case.pk, name="reappeal", actor=supervisor)
    t = TRANSLATE[language]

    response = api(alice).get(f"/api/v1/portal/cases/{case.pk}/timeline/", HTTP_ACCEPT_LANGUAGE=language)

    # Chat evidence was due when the orders arrived; the appeal's submission ended that deadline.
    chat = case.deadlines.get(kind="chat_evidence_expiry")
    chat_due = f"{timezone.localtime(chat.due_at):%Y-%m-%d %H:%M}"
    assert response.status_code == 200
    assert [entry["text"] for entry in response.data["results"]] == [
        t("Your case %(reference)s was opened.") % {"reference": case.reference},
        t("Flagged orders recorded on your case: %(count)s.") % {"count": 3},
        t("Chat records for your orders must be saved by %(due)s.") % {"due": chat_due},
        t("A case manager is now looking after your case."),
        t("We have started assessing your case."),
        t("We proposed a flat fee of %(amount)s %(currency)s.") % {"amount": "8000.00", "currency": "CNY"},
        t("The fee quote was accepted."),
        t("We have taken on your case and are collecting evidence for each flagged order."),
        t("The appeal was submitted to the platform (attempt %(n)s).") % {"n": 1},
        t("Chat records are no longer needed at this stage."),
        t("The platform rejected the appeal."),
        t("The platform's decision per order: %(cleared)s cleared, %(upheld)s upheld.") % {"cleared": 0, "upheld": 3},
        t("The fee due for your case is %(amount)s %(currency)s.") % {"amount": "8000.00", "currency": "CNY"},
        t("We are preparing a further appeal with more evidence."),
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_unmet_condition_message_in_the_request_language(
    api: Callable[[User], Any], alice: User, case_in: Callable[..., Case], language: str
) -> None:
    case = case_in("evidence")
    t = TRANSLATE[language]

    response = api(alice).post(
        f"/api/v1/portal/cases/{case.pk}/withdraw/", {"reason": ""}, HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 400
    error = response.data["error"]
    assert error["code"] == "conditions_unmet"
    assert error["message"] == t("The conditions for this action are not met.")
    assert error["details"]["unmet_conditions"] == [
        {"code": "reason_required", "message": t("A reason must be given.")}
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_validation_error_message_in_the_request_language(
    api: Callable[[User], Any], alice: User, case_in: Callable[..., Case], language: str
) -> None:
    case = case_in("evidence")

    response = api(alice).post(
        f"/api/v1/portal/cases/{case.pk}/withdraw/", {"reason": "x" * 5001}, HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 400
    assert response.data["error"]["code"] == "invalid"
    assert response.data["error"]["message"] == TRANSLATE[language]("The request has invalid fields.")
    assert set(response.data["error"]["details"]["fields"]) == {"reason"}


def test_language_does_not_leak_into_the_next_request(
    api: Callable[[User], Any], alice: User, case_in: Callable[..., Case]
) -> None:
    case = case_in("intake")
    client = api(alice)

    chinese = client.get(f"/api/v1/portal/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    default = client.get(f"/api/v1/portal/cases/{case.pk}/")

    assert chinese.data["state_display"] == zh("Intake")
    assert default.data["state_display"] == "Intake"

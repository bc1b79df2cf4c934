"""Compile every locale/*/LC_MESSAGES/django.po into django.mo with polib, so GNU gettext is not needed."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent

# A printf-style conversion as Python's % operator reads it: %(name)s, %d, %.2f, and %% (a literal percent).
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text))


def placeholder_errors(po: polib.POFile) -> list[str]:
    """Translated python-format entries whose msgstr does not use exactly the msgid's placeholders.

    GNU msgfmt --check-format catches these and polib does not; a mismatch raises KeyError or
    TypeError at runtime, and only in the translated language.
    """
    errors = []
    for entry in po.translated_entries():
        if "python-format" not in entry.flags:
            continue
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        expected = placeholders(entry.msgid)
        errors += [
            f"{entry.msgid!r}: the translation {msgstr!r} does not use exactly {sorted(expected)}"
            for msgstr in translations
            if placeholders(msgstr) != expected
        ]
    return errors


def compile_catalogue(po_path: Path, mo_path: Path | None = None) -> tuple[polib.POFile, list[str]]:
    """Write the .mo (translated, non-fuzzy entries only) unless the .po has placeholder errors."""
    po = polib.pofile(str(po_path))
    errors = placeholder_errors(po)
    if not errors:
        po.save_as_mofile(str(mo_path or po_path.with_suffix(".mo")))
    return po, errors


def main() -> int:
    catalogues = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po"))
    if not catalogues:
        sys.stderr.write(f"No */LC_MESSAGES/django.po under {LOCALE_DIR}\n")
        return 1
    failed = False
    for po_path in catalogues:
        name = po_path.relative_to(LOCALE_DIR.parent)
        po, errors = compile_catalogue(po_path)
        for error in errors:
            sys.stderr.write(f"{name}: {error}\n")
        if errors:
            failed = True
            sys.stderr.write(f"{name}: not compiled\n")
            continue
        sys.stdout.write(
            f"{name.with_suffix('.mo')}: {len(po.translated_entries())} translated; left out:"
            f" {len(po.untranslated_entries())} untranslated, {len(po.fuzzy_entries())} fuzzy\n"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

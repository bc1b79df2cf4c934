"""Print the catalogue's untranslated or fuzzy entries as JSON, for a translator to fill in.

Usage: python locale/untranslated.py            -> {"msgid": "", ...}
       python locale/untranslated.py FILE.json  -> writes the given translations, drops
                                                   fuzzy flags and obsolete entries
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polib

PO_PATH = Path(__file__).resolve().parent / "zh_Hans" / "LC_MESSAGES" / "django.po"


def main() -> None:
    po = polib.pofile(str(PO_PATH))
    if len(sys.argv) == 1:
        todo = {e.msgid: "" for e in po if not e.obsolete and (not e.msgstr or "fuzzy" in e.flags)}
        print(json.dumps(todo, ensure_ascii=False, indent=1))  # noqa: T201
        return
    translations = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    for entry in list(po):
        if entry.obsolete:
            po.remove(entry)
            continue
        if translations.get(entry.msgid):
            entry.msgstr = translations[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            entry.previous_msgid = None
    po.save()


if __name__ == "__main__":
    main()

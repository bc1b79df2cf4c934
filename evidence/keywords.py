"""The words that name each evidence kind in a bulk upload's folder and file names: editable data."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput
from evidence.models import KindKeywords

# Who corrects the keywords: as for the platform rule profiles, administrators.
KEYWORD_EDITORS = (Role.ADMINISTRATOR,)


def _cleaned(words: list[str]) -> tuple[list[str], list[str]]:
    """The words without surrounding blanks or repeats (ignoring case), and the problems found."""
    cleaned: list[str] = []
    seen: set[str] = set()
    problems: list[str] = []
    for word in words:
        word = str(word).strip()
        if not word:
            problems.append(_("A keyword is blank."))
            continue
        if word.lower() in seen:
            continue
        seen.add(word.lower())
        cleaned.append(word)
    return cleaned, problems


def keyword_problems(kind: str, words: list[str]) -> list[str]:
    """Why these words cannot name ``kind``: blank ones, or ones another kind has (empty when they can)."""
    cleaned, problems = _cleaned(words)
    wanted = {word.lower() for word in cleaned}
    for other in KindKeywords.objects.exclude(kind=kind).order_by("kind"):
        for word in sorted(wanted & {str(word).lower() for word in other.keywords}):
            problems.append(_("“%(word)s” already names %(kind)s.") % {"word": word, "kind": other.get_kind_display()})
    return problems


@transaction.atomic
def kind_keywords_update(*, kind: str, actor: User, words: list[str]) -> KindKeywords:
    """Replace one kind's keywords. 400 when a word is blank or another kind has it already.

    Words are kept as written, without surrounding blanks; duplicates (ignoring case) are
    dropped. One word naming two kinds would make every file it occurs in "kind unknown".
    """
    require_role(actor, KEYWORD_EDITORS, message=_("Only administrators change the keywords."))
    # Every row, locked in one order: two edits of different kinds cannot both take one word.
    rows = {row.kind: row for row in KindKeywords.objects.select_for_update().order_by("kind")}
    row = rows[kind]
    problems = keyword_problems(kind, words)
    if problems:
        raise InvalidInput(details={"fields": {"keywords": problems}})
    row.keywords, _problems = _cleaned(words)
    row.updated_at = timezone.now()
    row.updated_by = actor
    row.save(update_fields=["keywords", "updated_at", "updated_by"])
    return row

"""A read-only view of the state machine declared on ``Case``, for services and the API.

The machine itself is declared once, with django-fsm decorators on the model. This module
only groups those declarations by transition name so that callers can ask: from which
states, to which state, who may, what is unmet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.utils.translation import gettext as _

from agency.errors import InvalidInput
from cases.models import Case
from casework.conditions import Condition

INPUT_MESSAGES: dict[str, Callable[[], str]] = {
    "reason": lambda: _("A reason must be given."),
    "outcome": lambda: _("The outcome must be given: accepted, partially accepted or rejected."),
}


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    sources: tuple[str, ...]
    target: str
    conditions: tuple[Condition, ...]
    permission: Callable[[Case, Any], bool]
    requires: tuple[str, ...]
    label_text: Any

    @property
    def label(self) -> str:
        return str(self.label_text)

    def possible_from(self, state: str) -> bool:
        return state in self.sources

    def has_permission(self, case: Case, user: Any) -> bool:
        return bool(self.permission(case, user))

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(getattr(self.permission, "roles", frozenset()))

    def unmet_conditions(self, case: Case, inputs: Mapping[str, str] | None) -> list[dict[str, Any]]:
        """Every unmet guard; with ``inputs``, also every required input that is missing."""
        unmet: list[dict[str, Any]] = []
        for condition in self.conditions:
            if not condition(case):
                entry: dict[str, Any] = {"code": condition.code, "message": str(condition.message)}
                if condition.explain is not None:
                    entry.update(condition.explain(case))
                unmet.append(entry)
        if inputs is not None:
            unmet += [
                {"code": f"{name}_required", "message": INPUT_MESSAGES[name]()}
                for name in self.requires
                if not inputs.get(name)
            ]
        return unmet


@cache
def _registry() -> dict[str, TransitionSpec]:
    field = Case._meta.get_field("state")
    grouped: dict[str, list[Any]] = {}
    for declared in field.get_all_transitions(Case):
        grouped.setdefault(declared.name, []).append(declared)
    registry = {}
    for name, declarations in grouped.items():
        first = declarations[0]
        registry[name] = TransitionSpec(
            name=name,
            sources=tuple(str(d.source) for d in declarations),
            target=str(first.target),
            conditions=tuple(first.conditions),
            permission=first.permission,
            requires=tuple(first.custom.get("requires", ())),
            label_text=first.custom.get("label", name),
        )
    return registry


def all_transitions() -> list[TransitionSpec]:
    return list(_registry().values())


def names() -> list[str]:
    return list(_registry())


def get(name: str) -> TransitionSpec:
    try:
        return _registry()[name]
    except KeyError:
        raise InvalidInput(
            details={"fields": {"transition": [_("Unknown transition '%(name)s'.") % {"name": name}]}}
        ) from None

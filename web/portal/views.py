"""The client portal's pages: a merchant's cases, one case, and what the agency asks of them.

Each view is as thin as its API twin: parse a Django form, call the same service or
selector, render. A case of another organisation answers 404 on every page, exactly like
the API, because every case is loaded through ``portal_case_get``. A POST answered to htmx
returns the fragment it changed; without JavaScript it redirects back to the case page
(post/redirect/get) with a message saying what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agency.accounts.models import User
from agency.errors import DomainError, NotFound
from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.api.portal import quote_explanation
from billing.models import QuoteStatus
from cases import selectors as case_selectors
from cases.api.portal import author_name_for_client
from cases.models import Case, CaseState
from casework import appeals, timeline
from casework import conversation as conversation_service
from casework import services as case_services
from evidence import requests as request_service
from evidence import selectors as evidence_selectors
from evidence import services as evidence_services
from evidence.downloads import evidence_file_response
from evidence.models import RequestStatus
from evidence.uploads import RefusedFile, install_files_upload_handler
from recovery import selectors as recovery_selectors
from recovery import services as recovery_services
from recovery.models import TaskOwner
from web.portal import presenters
from web.portal.forms import MessageForm, QuoteDecisionForm, TaskStatusForm, UploadForm, WithdrawForm

View = Callable[..., Any]


def client_page(view: View) -> View:
    """Signed-in client users only: anyone else signs in first, staff are refused (403).

    A missing or foreign object (the services' NotFound) is the page's 404.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not getattr(user, "is_client", False):
            raise PermissionDenied
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _case_url(case_id: int, anchor: str = "") -> str:
    url = reverse("web:portal-case", kwargs={"case_id": case_id})
    return f"{url}#{anchor}" if anchor else url


def _refusal_text(error: DomainError) -> str:
    """One sentence for a refused action or file: the field reasons when there are any, else the message."""
    fields = error.details.get("fields") if isinstance(error.details, dict) else None
    if isinstance(fields, dict) and fields:
        reasons = [
            str(reason) for value in fields.values() for reason in (value if isinstance(value, list) else [value])
        ]
        return " ".join(reasons)
    return str(error.message)


# --- Context for the case page and its fragments ---------------------------------------------


def _needed_context(user: User, case: Case) -> dict[str, Any]:
    requests = list(request_service.evidence_requests_for_client(user=user, case_id=case.pk))
    uploads = list(evidence_selectors.portal_evidence_list(case=case))
    return {
        "open_requests": [r for r in requests if r.status == RequestStatus.OPEN],
        "closed_requests": [r for r in requests if r.status != RequestStatus.OPEN],
        "uploads": uploads,
        "upload_form": UploadForm(),
    }


def _quote_context(case: Case) -> dict[str, Any]:
    quotes = list(billing_selectors.quotes_of(case))
    shown = [quote for quote in quotes if quote.status != QuoteStatus.WITHDRAWN]
    quote = shown[-1] if shown else None
    return {
        "quote": quote,
        "quote_explanation": quote_explanation(quote) if quote else "",
        "quote_can_decide": bool(quote and quote.status == QuoteStatus.PROPOSED and case.state == CaseState.ASSESSMENT),
    }


def _messages_context(user: User, case: Case, form: MessageForm | None = None) -> dict[str, Any]:
    thread = [
        {
            "message": message,
            "author": author_name_for_client(message.author, from_client=message.from_client),
        }
        for message in conversation_service.portal_message_list(user=user, case_id=case.pk)
    ]
    return {"thread": thread, "message_form": form or MessageForm()}


def _recovery_context(user: User, case: Case) -> dict[str, Any]:
    try:
        plan = recovery_selectors.plan_for_client(user=user, case_id=case.pk)
    except NotFound:
        return {"plan": None}
    tasks = sorted(plan.tasks, key=lambda task: (task.position, task.pk))
    return {
        "plan": plan,
        "own_tasks": [task for task in tasks if task.owner == TaskOwner.CLIENT],
        "agency_tasks": [task for task in tasks if task.owner != TaskOwner.CLIENT],
        "plan_open": not plan.plan.waived_at and case.state == CaseState.REPUTATION_RECOVERY,
        "today": plan.today,
    }


def _outcome_context(case: Case, quote: Any) -> dict[str, Any]:
    if not case.outcome:
        return {"outcome": None}
    summary = appeals.outcome_summary(case=case)
    return {
        "outcome": summary,
        "outcome_orders": list(appeals.outcome_orders(case=case)),
        "amount_due": quote.amount_due if quote is not None and quote.status == QuoteStatus.ACCEPTED else None,
        "currency": quote.currency if quote is not None else "",
    }


def _case_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    user = _user(request)
    context: dict[str, Any] = {
        "case": case,
        "nav": "cases",
        "steps": presenters.steps_of(case),
        "standing": presenters.standing_of(case),
        "asks": presenters.asks_for(case),
        "timeline": [
            {"at": event.created_at, "text": timeline.describe(event)}
            for event in reversed(list(case_selectors.case_client_timeline(case=case)))
        ],
    }
    context.update(_needed_context(user, case))
    context.update(_quote_context(case))
    context.update(_messages_context(user, case))
    context.update(_recovery_context(user, case))
    context.update(_outcome_context(case, context["quote"]))
    return context


def _case(request: HttpRequest, case_id: int) -> Case:
    return case_selectors.portal_case_get(user=_user(request), case_id=case_id)


# --- Pages -------------------------------------------------------------------------------------


@require_GET
@client_page
def case_list(request: HttpRequest) -> HttpResponse:
    page, summaries = presenters.case_summaries(user=_user(request), page_number=request.GET.get("page"))
    return render(request, "web/portal/case_list.html", {"page": page, "summaries": summaries, "nav": "cases"})


@require_GET
@client_page
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    return render(request, "web/portal/case_detail.html", _case_context(request, case))


@require_GET
@client_page
def evidence_download(request: HttpRequest, item_id: int) -> FileResponse:
    return evidence_file_response(evidence_selectors.portal_evidence_get(user=_user(request), item_id=item_id))


# --- Evidence uploads ----------------------------------------------------------------------------


@csrf_exempt
@require_POST
@client_page
def evidence_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    """Several files at once for one requested item; each is accepted or refused on its own.

    The files stream through ``EvidenceFilesUploadHandler``, which must be installed before
    anything reads the body, so the CSRF check runs after it (``csrf_protect`` below), as
    Django's documentation describes for changing upload handlers in a view.
    """
    handler = install_files_upload_handler(request)
    return _evidence_upload(request, case_id, refused_early=handler.refused)


@csrf_protect
def _evidence_upload(request: HttpRequest, case_id: int, *, refused_early: list[RefusedFile]) -> HttpResponse:
    user = _user(request)
    case = _case(request, case_id)
    form = UploadForm(request.POST)
    requested = None
    if form.is_valid():
        requests = request_service.evidence_requests_for_client(user=user, case_id=case.pk)
        for evidence_request in requests:
            for item in evidence_request.items.all():
                if item.pk == form.cleaned_data["item"]:
                    requested = item
    if requested is None:
        raise Http404
    accepted: list[str] = []
    refused: list[RefusedFile] = list(refused_early)
    files = request.FILES.getlist("files")
    if not files and not refused:
        refused.append(RefusedFile(name="", reason=_("Choose at least one file.")))
    for file in files:
        try:
            evidence_services.evidence_upload(
                case_id=case.pk,
                actor=user,
                file=file,
                kind=requested.kind,
                order_id=requested.order_id,
                request_id=requested.request_id,
            )
        except DomainError as error:
            refused.append(RefusedFile(name=file.name or "", reason=_refusal_text(error)))
        else:
            accepted.append(file.name or "")
    if request.htmx:  # type: ignore[attr-defined]
        context = {"case": case, **_needed_context(user, case)}
        still_open = any(r.pk == requested.request_id for r in context["open_requests"])
        context.update(
            {"result_item": requested.pk, "result_inline": still_open, "accepted": accepted, "refused": refused}
        )
        return render(request, "web/portal/_needed.html", context)
    for name in accepted:
        messages.success(request, _("“%(name)s” was received.") % {"name": name})
    for refusal in refused:
        if refusal.name:
            text = _("“%(name)s” was refused: %(reason)s") % {"name": refusal.name, "reason": refusal.reason}
        else:
            text = refusal.reason
        messages.error(request, text)
    return HttpResponseRedirect(_case_url(case.pk, "needed"))


# --- Fee quote -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@client_page
def quote_decide(request: HttpRequest, case_id: int, quote_id: int, decision: str) -> HttpResponse:
    """GET: the confirmation (a page, or the fragment htmx puts in the quote's place); POST: decide."""
    user = _user(request)
    case = _case(request, case_id)
    quote = billing_selectors.quote_for_client(user=user, quote_id=quote_id)
    if quote.case_id != case.pk or decision not in ("accept", "reject"):
        raise Http404
    form = QuoteDecisionForm(request.POST or None, initial={"version": quote.version})
    error = ""
    if request.method == "POST" and form.is_valid():
        decide = billing_services.quote_accept if decision == "accept" else billing_services.quote_reject
        try:
            decide(
                quote_id=quote.pk,
                actor=user,
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as refused:
            error = _refusal_text(refused)
        else:
            done = _("You accepted the quote.") if decision == "accept" else _("You declined the quote.")
            if request.htmx:  # type: ignore[attr-defined]
                case = _case(request, case_id)
                return render(request, "web/portal/_quote.html", {"case": case, "notice": done, **_quote_context(case)})
            messages.success(request, done)
            return HttpResponseRedirect(_case_url(case.pk, "quote"))
    context = {
        "case": case,
        "quote": quote,
        "quote_explanation": quote_explanation(quote),
        "decision": decision,
        "form": form,
        "error": error,
    }
    template = "web/portal/_quote_confirm.html" if request.htmx else "web/portal/quote_confirm.html"  # type: ignore[attr-defined]
    return render(request, template, context)


# --- Messages --------------------------------------------------------------------------------


@require_POST
@client_page
def message_send(request: HttpRequest, case_id: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, case_id)
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            conversation_service.message_post(case_id=case.pk, actor=user, body=form.cleaned_data["body"])
        except DomainError as refused:
            form.add_error("body", _refusal_text(refused))
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, _("Your message was sent."))
                return HttpResponseRedirect(_case_url(case.pk, "messages"))
            form = MessageForm()
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "web/portal/_messages.html", {"case": case, **_messages_context(user, case, form)})
    # Without JavaScript a refused message comes back on the case page with the text kept.
    context = _case_context(request, case)
    context.update(_messages_context(user, case, form))
    return render(request, "web/portal/case_detail.html", context, status=400)


# --- Recovery tasks ----------------------------------------------------------------------------


@require_POST
@client_page
def task_update(request: HttpRequest, case_id: int, task_id: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, case_id)
    task = recovery_selectors.task_for_client(user=user, task_id=task_id)
    if task.plan.case_id != case.pk:
        raise Http404
    form = TaskStatusForm(request.POST)
    notice = ""
    error = ""
    if not form.is_valid():
        error = _("Choose whether the task is started or done.")
    else:
        try:
            recovery_services.portal_task_update(task_id=task.pk, actor=user, status=form.cleaned_data["status"])
        except DomainError as refused:
            error = _refusal_text(refused)
        else:
            notice = (
                _("“%(title)s” is marked as done.")
                if form.cleaned_data["status"] == "done"
                else _("“%(title)s” is marked as started.")
            )
            notice = notice % {"title": task.title}
    if request.htmx:  # type: ignore[attr-defined]
        context = {"case": case, "notice": notice, "error": error, **_recovery_context(user, case)}
        return render(request, "web/portal/_recovery.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return HttpResponseRedirect(_case_url(case.pk, "recovery"))


# --- Withdrawal ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@client_page
def case_withdraw(request: HttpRequest, case_id: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, case_id)
    if not case.is_open:
        messages.info(request, _("This case is already closed."))
        return HttpResponseRedirect(_case_url(case.pk))
    form = WithdrawForm(request.POST or None, initial={"expected_state": case.state})
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            case_services.case_transition(
                case_id=case.pk,
                name="withdraw",
                actor=user,
                reason=form.cleaned_data["reason"],
                expected_state=form.cleaned_data["expected_state"],
            )
        except DomainError as refused:
            error = _refusal_text(refused)
        else:
            messages.success(request, _("Your case %(reference)s is withdrawn.") % {"reference": case.reference})
            return HttpResponseRedirect(_case_url(case.pk))
    return render(request, "web/portal/withdraw.html", {"case": case, "form": form, "error": error})

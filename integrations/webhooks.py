"""Webhook subscriptions, URL checks, signing, and the dispatcher that delivers outbox events.

Delivery is at least once: a delivery is claimed for a while before it is sent, and a
worker that dies mid-send leaves the claim to run out, after which the next dispatcher
run sends it again. Receivers dedupe by the event id (the ``Webhook-Id`` header).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from agency.accounts.models import Role, User
from agency.accounts.permissions import require_role
from agency.errors import InvalidInput, NotFound
from agency.organisations.models import Organisation
from integrations.models import DeliveryStatus, EventType, OutboxEvent, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

# Who manages subscriptions and reads deliveries; the API's gate reads this too.
WEBHOOK_ADMINS = (Role.ADMINISTRATOR,)
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3 * 60 * 60
SUBSCRIPTION_FIELDS = ("url", "events", "active", "description")


# --- URL checks -------------------------------------------------------------------------


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why."""


def _address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified
    )


def check_webhook_url(url: str) -> None:
    """Raise UnsafeUrl unless ``url`` is https and every address its host resolves to is public.

    ``WEBHOOK_ALLOW_PRIVATE_URLS`` lifts both rules (tests and the demo use a local receiver).
    Called when a subscription is saved and again before each delivery, since DNS can change.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(_("Enter an https URL."))
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return
    if parts.scheme != "https":
        raise UnsafeUrl(_("Webhook URLs must use https."))
    try:
        port = parts.port or 443
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise UnsafeUrl(_("The webhook host could not be resolved.")) from exc
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_address_is_public(address) for address in addresses):
        raise UnsafeUrl(_("Webhook URLs may not point at private, loopback or reserved addresses."))


# --- Subscriptions ----------------------------------------------------------------------


def _validate(*, url: str | None = None, events: Sequence[str] | None = None) -> None:
    fields: dict[str, list[str]] = {}
    if url is not None:
        try:
            check_webhook_url(url)
        except UnsafeUrl as exc:
            fields["url"] = [str(exc)]
    if events is not None:
        unknown = sorted(set(events) - set(EventType.values))
        if unknown:
            fields["events"] = [_("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}]
    if fields:
        raise InvalidInput(details={"fields": fields})


def generate_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_subscription_list(*, actor: User) -> QuerySet[WebhookSubscription]:
    require_role(actor, WEBHOOK_ADMINS)
    return WebhookSubscription.objects.all()


def webhook_subscription_get(*, actor: User, subscription_id: int) -> WebhookSubscription:
    try:
        return webhook_subscription_list(actor=actor).get(pk=subscription_id)
    except WebhookSubscription.DoesNotExist as exc:
        raise NotFound() from exc


@transaction.atomic
def webhook_subscription_create(
    *,
    actor: User,
    url: str,
    events: Sequence[str] = (),
    secret: str = "",
    organisation: Organisation | None = None,
    description: str = "",
    active: bool = True,
) -> WebhookSubscription:
    """Subscribe a URL; the secret is generated unless given. The caller shows it once."""
    require_role(actor, WEBHOOK_ADMINS)
    _validate(url=url, events=events)
    return WebhookSubscription.objects.create(
        url=url,
        events=sorted(set(events)),
        secret=secret or generate_secret(),
        organisation=organisation,
        description=description,
        active=active,
        created_by=actor,
    )


@transaction.atomic
def webhook_subscription_update(
    *, actor: User, subscription_id: int, changes: Mapping[str, Any]
) -> WebhookSubscription:
    """Change the URL, the events wanted, the description, or pause and resume it."""
    require_role(actor, WEBHOOK_ADMINS)
    subscription = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound()
    _validate(url=changes.get("url"), events=changes.get("events"))
    for name in SUBSCRIPTION_FIELDS:
        if name in changes:
            value = changes[name]
            setattr(subscription, name, sorted(set(value)) if name == "events" else value)
    subscription.save()
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, actor: User, subscription_id: int) -> None:
    """Remove a subscription together with its delivery log."""
    require_role(actor, WEBHOOK_ADMINS)
    subscription = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound()
    WebhookDelivery.objects.filter(subscription=subscription).delete()
    subscription.delete()


def webhook_delivery_list(*, actor: User, subscription_id: int, status: str = "") -> QuerySet[WebhookDelivery]:
    subscription = webhook_subscription_get(actor=actor, subscription_id=subscription_id)
    deliveries = WebhookDelivery.objects.filter(subscription=subscription).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


@transaction.atomic
def webhook_delivery_resend(*, actor: User, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now, whatever became of it; its attempts are kept.

    A re-send is one more attempt: its retry window (counted from when the delivery was
    made) has usually passed, so if the receiver fails again it is marked failed at once.
    """
    require_role(actor, WEBHOOK_ADMINS)
    delivery = WebhookDelivery.objects.select_for_update().select_related("event").filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound()
    now = timezone.now()
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.claimed_until = None
    delivery.save(update_fields=["status", "next_attempt_at", "claimed_until"])
    from integrations.tasks import queue_dispatch

    transaction.on_commit(queue_dispatch, robust=True)
    return delivery


# --- Signing and the payload ------------------------------------------------------------


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``Webhook-Signature`` header value: ``v1=`` and hex HMAC-SHA256 of ``"{timestamp}.{body}"``."""
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def event_payload(event: OutboxEvent) -> dict[str, Any]:
    """The JSON body every subscriber gets for an event (the same on every attempt)."""
    return {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": event.occurred_at,
        "sequence": event.sequence,
        "case": event.case_id,
        "data": event.data,
    }


def event_body(event: OutboxEvent) -> bytes:
    return json.dumps(event_payload(event), cls=DjangoJSONEncoder, separators=(",", ":")).encode()


# --- The dispatcher ---------------------------------------------------------------------


@dataclass
class DispatchResult:
    fanned_out: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def _matches(subscription: WebhookSubscription, event: OutboxEvent) -> bool:
    if subscription.events and event.type not in subscription.events:
        return False
    return subscription.organisation_id is None or subscription.organisation_id == event.organisation_id


def fan_out(*, batch: int = 500) -> int:
    """Make one delivery per matching active subscription for events not yet fanned out.

    Safe to run twice at once: the unique (event, subscription) pair makes the second
    insert a no-op. Answers how many events were fanned out.
    """
    events = list(OutboxEvent.objects.filter(fanned_out_at__isnull=True).order_by("occurred_at", "sequence")[:batch])
    if not events:
        return 0
    subscriptions = list(WebhookSubscription.objects.filter(active=True))
    now = timezone.now()
    deliveries = [
        WebhookDelivery(
            event=event,
            subscription=subscription,
            case_id=event.case_id,
            sequence=event.sequence,
            next_attempt_at=now,
            created_at=now,
        )
        for event in events
        for subscription in subscriptions
        if _matches(subscription, event)
    ]
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(fanned_out_at=now)
    return len(events)


def _due_deliveries(now: dt.datetime, limit: int) -> list[WebhookDelivery]:
    """Pending, due, unclaimed deliveries of active subscriptions that are next in their case's line.

    A delivery waits while the same subscription has an earlier pending delivery for the
    same case, or while an earlier event of the case is not fanned out yet: receivers get
    a case's events in sequence order. A failed delivery no longer holds the line.
    """
    earlier_pending = WebhookDelivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        case_id=OuterRef("case_id"),
        status=DeliveryStatus.PENDING,
        sequence__lt=OuterRef("sequence"),
    )
    earlier_unfanned = OutboxEvent.objects.filter(
        case_id=OuterRef("case_id"), fanned_out_at__isnull=True, sequence__lt=OuterRef("sequence")
    )
    return list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, subscription__active=True
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .exclude(Q(case__isnull=False) & Exists(earlier_pending))
        .exclude(Q(case__isnull=False) & Exists(earlier_unfanned))
        .select_related("event", "subscription")
        .order_by("next_attempt_at", "sequence")[:limit]
    )


def _claim(delivery: WebhookDelivery, now: dt.datetime) -> bool:
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=now + dt.timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS))
    )
    return claimed == 1


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx one; following it could reach an internal host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxies from the environment either: the address checked is the address called.
_opener = urllib.request.build_opener(_NoRedirects(), urllib.request.ProxyHandler({}))


@dataclass
class Attempt:
    status_code: int | None
    latency_ms: int
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post_event(*, url: str, secret: str, event: OutboxEvent) -> Attempt:
    """POST one event, signed; never raises for network or HTTP errors, it reports them."""
    try:
        check_webhook_url(url)
    except UnsafeUrl as exc:
        return Attempt(status_code=None, latency_ms=0, error=str(exc))
    body = event_body(event)
    timestamp = int(timezone.now().timestamp())
    # check_webhook_url allowed only http(s) schemes.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "agency-webhooks/1",
            "Webhook-Id": str(event.id),
            "Webhook-Timestamp": str(timestamp),
            "Webhook-Signature": sign(secret=secret, timestamp=timestamp, body=body),
        },
    )
    started = time.perf_counter()
    status_code: int | None = None
    error = ""
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            status_code = response.status
            response.read(1024)
    except urllib.error.HTTPError as exc:
        status_code = exc.code
        error = f"HTTP {exc.code}"
        exc.close()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = str(getattr(exc, "reason", exc)) or exc.__class__.__name__
    latency_ms = int((time.perf_counter() - started) * 1000)
    return Attempt(status_code=status_code, latency_ms=latency_ms, error=error[:1000])


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the n-th failed attempt: 30 s doubling, at most 3 hours, with ±10 % jitter."""
    seconds = min(BACKOFF_BASE_SECONDS * 2 ** min(attempts, 20), BACKOFF_MAX_SECONDS)
    return dt.timedelta(seconds=seconds * random.uniform(0.9, 1.1))  # noqa: S311 (jitter, not a secret)


def _record(delivery: WebhookDelivery, attempt: Attempt, result: DispatchResult) -> None:
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code = attempt.status_code
    delivery.last_latency_ms = attempt.latency_ms
    delivery.last_attempt_at = now
    delivery.claimed_until = None
    if attempt.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.last_error = ""
        result.delivered += 1
    else:
        delivery.last_error = attempt.error
        give_up_at = delivery.created_at + dt.timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS)
        if now >= give_up_at:
            delivery.status = DeliveryStatus.FAILED
            result.failed += 1
        else:
            # The last retry falls at the end of the window, not beyond it.
            delivery.next_attempt_at = min(now + backoff(delivery.attempts), give_up_at)
            result.retried += 1
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "last_status_code",
            "last_latency_ms",
            "last_error",
            "last_attempt_at",
            "delivered_at",
            "next_attempt_at",
            "claimed_until",
        ]
    )


def deliver_due(*, limit: int = 100, rounds: int = 20) -> DispatchResult:
    """Send what is due, a case's events one after another, until nothing more is ready.

    Each round sends at most one delivery per (subscription, case); a success lets the
    case's next event go in the following round.
    """
    result = DispatchResult()
    for _round in range(rounds):
        now = timezone.now()
        due = _due_deliveries(now, limit)
        progressed = False
        for delivery in due:
            if not _claim(delivery, timezone.now()):
                continue  # another worker took it
            attempt = post_event(
                url=delivery.subscription.url, secret=delivery.subscription.secret, event=delivery.event
            )
            _record(delivery, attempt, result)
            progressed = progressed or attempt.ok
            if not attempt.ok:
                logger.info("Webhook delivery %s failed: %s", delivery.pk, attempt.error)
        if not progressed or len(due) == 0:
            break
    return result


def dispatch(*, batch: int = 500, limit: int = 100) -> DispatchResult:
    """One dispatcher run: fan out new events, then deliver what is due."""
    fanned_out = fan_out(batch=batch)
    result = deliver_due(limit=limit)
    result.fanned_out = fanned_out
    return result

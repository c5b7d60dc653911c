"""Sending: many messages in flight per worker process, their outcomes written in batches.

One call of ``notifications_send`` works through a list of ids:

1. Claim a batch of due pending rows (``SELECT … FOR UPDATE SKIP LOCKED``, then
   pending → sending in the same short transaction): each row is claimed by one
   caller only, whoever else tries.
2. Prepare each claimed row, one at a time and each on its own: the recipient's
   consent and address *now* (not when the row was written), quiet hours in the
   recipient's time zone, the text (rendered in batches), an SMS that says nothing
   new is not sent, the email built. Any error here fails that message alone, with
   the error written on it; the batch goes on.
3. Hand messages to the engine (``transports.Engine``) while fewer than
   ``NOTIFICATION_MAX_IN_FLIGHT`` are out, SMS paced by each sender's shared
   token bucket.
4. Collect outcomes as they come back and write them in batches: one
   ``UPDATE … FROM (VALUES …)`` for up to a window of messages.

A message counts against the window from the moment it is handed to the
provider until its outcome is committed. So after a crash (a killed process, a
lost database) at most ``NOTIFICATION_MAX_IN_FLIGHT`` messages of that process
were accepted by a provider without our record of it: those rows stay in
``sending``, the sweeper frees them after the lease as ``uncertain`` and they go
again. That is the bound on duplicates; nothing else is ever sent twice.
"""

from __future__ import annotations

import logging
import queue
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from core.database import database_unreachable
from core.queue import enqueue, enqueue_on_commit
from notifications.consent import address_opt_out
from notifications.messages import build_email, messages_render
from notifications.models import Channel, EventType, Notification, Status
from notifications.outcomes import Outcome, backoff_seconds, outcomes_write
from notifications.quiet_hours import quiet_hours_release, recipient_zone
from notifications.ratelimit import sms_bucket
from notifications.transports import (
    CHAT_LANES,
    WEBHOOK_SLOTS,
    Engine,
    Sent,
    SmsConfig,
    TransportError,
    WebhookConfig,
    engine,
)
from notifications.webhooks import webhook_endpoint_disable, webhook_endpoints_health_record, webhook_headers

logger = logging.getLogger(__name__)

SEND_TASK = "notifications.tasks.send_notifications"
# A send task stops claiming after this long and queues what it did not reach as a
# new task: well inside its 210 s soft time limit and the outbox lease, whatever
# the SMS rate allows.
TASK_BUDGET_SECONDS = 150
# When outcomes are written (each write is a commit, a few milliseconds of fsync, so
# the fewer the better): a slot is free again only once its outcome is written, so
# when ready messages wait for the slots unwritten outcomes hold, write once FLUSH_AT
# have come or the oldest has waited BLOCKED_FLUSH_SECONDS; otherwise at the latest
# after FLUSH_AFTER_SECONDS, or when half the window is waiting.
FLUSH_AT = 8
BLOCKED_FLUSH_SECONDS = 0.01
FLUSH_AFTER_SECONDS = 0.05
# Emails handed to each lane at once: one sending, the next ones waiting, so a lane
# never idles while its last outcome goes back to be written.
EMAIL_QUEUED_PER_LANE = 4
# A channel that found no due rows of its kind in the outbox asks again after this long,
# not on every turn of the loop: at 100,000 messages, a channel that finished first
# asked dozens of times a second while the other was still sending (found by
# bench.notify_at_scale: the database's two cores busy with empty claims).
OUTBOX_DRY_SECONDS = 1.0


@dataclass
class _Outgoing:
    notification: Notification
    sender: str = ""  # the SMS sender (number or Messaging Service) whose bucket it draws on
    email: EmailMessage | None = None
    headers: dict[str, str] | None = None  # a webhook's signature headers


# Channels other than SMS: each has its own lanes and a cap on what it holds of the
# window, so a slow one (email on its lanes, a dead webhook endpoint) never holds the
# slots SMS could use, and never delays the others.
_LANED = (Channel.EMAIL, Channel.WEBHOOK, Channel.CHAT)


@dataclass
class _Window:
    """Everything one call has between claiming and recording."""

    # Ids not claimed yet, per channel: each channel is claimed as it has room, so a
    # slow one (email waiting on its lanes) never starves a fast one.
    todo: dict[str, deque[int]]
    ready_laned: dict[str, deque[_Outgoing]] = field(default_factory=lambda: {channel: deque() for channel in _LANED})
    ready_sms: dict[str, deque[_Outgoing]] = field(default_factory=dict)
    ready: int = 0  # claimed, prepared, waiting for a slot (or a token)
    ready_sms_count: int = 0
    in_flight: int = 0
    laned_in_flight: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_LANED, 0))
    unrecorded: list[Outcome] = field(default_factory=list)
    oldest_unrecorded: float = 0.0
    tokens: dict[str, int] = field(default_factory=dict)
    token_due: dict[str, float] = field(default_factory=dict)
    results: queue.SimpleQueue[tuple[_Outgoing, Sent | BaseException]] = field(default_factory=queue.SimpleQueue)


class _Sender:
    def __init__(self, ids: Iterable[int], *, deadline: float | None, take_more: bool = False) -> None:
        wanted = list(ids)
        todo: dict[str, deque[int]] = {channel: deque() for channel in Channel.values}
        for notification_id, channel in (
            Notification.objects.filter(pk__in=wanted).order_by("pk").values_list("pk", "channel")
        ):
            todo[channel].append(notification_id)
        self.window = _Window(todo=todo)
        self.results: dict[int, str] = dict.fromkeys(wanted, "skipped")
        # Its own ids not finished yet; while there are, a channel that ran out of its
        # own work takes more due work of that channel from the outbox (``take_more``).
        self.own_left = {notification_id for queued in todo.values() for notification_id in queued}
        self.take_more = take_more
        self.outbox_dry_until: dict[str, float] = {}
        self.limit = settings.NOTIFICATION_MAX_IN_FLIGHT
        self.flush_at = max(1, min(FLUSH_AT, self.limit // 2))
        self.deadline = deadline
        self.engine: Engine = engine()
        self.slots = {
            Channel.EMAIL: min(self.limit, EMAIL_QUEUED_PER_LANE * self.engine.email.size),
            Channel.WEBHOOK: min(self.limit, WEBHOOK_SLOTS),
            Channel.CHAT: min(self.limit, 2 * CHAT_LANES),
        }
        self.webhook_config = WebhookConfig.from_settings()
        self.sms_config = SmsConfig.from_settings()

    # --- the loop --------------------------------------------------------------------------

    def run(self) -> dict[int, str]:
        try:
            while True:
                self._top_up()
                if self.window.in_flight == 0 and not self._can_send_later():
                    break
                self._collect(timeout=self._wait())
                if self._flush_due():
                    self._record()
        finally:
            # Whatever stopped the loop, what is out comes back and is written down.
            while self.window.in_flight:
                self._collect(timeout=5.0)
            self._release_ready()
            self._record()
        return self.results

    def _free_slots(self) -> int:
        return self.limit - self.window.in_flight - len(self.window.unrecorded)

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _can_send_later(self) -> bool:
        window = self.window
        return bool(window.ready or (any(window.todo.values()) and not self._out_of_time()))

    def _top_up(self) -> None:
        window = self.window
        while self._free_slots() > 0:
            outgoing = self._next_outgoing()
            if outgoing is not None:
                self._hand_over(outgoing)
                continue
            # Nothing can go: claim for a channel that could go now but has nothing ready
            # (SMS held back by the rate limit are ready, and claim nothing more).
            if any(
                not window.ready_laned[channel]
                and window.laned_in_flight[channel] < self.slots[channel]
                and self._claim(channel)
                for channel in _LANED
            ):
                continue
            if not window.ready_sms_count and self._claim(Channel.SMS):
                continue
            return
        # The window is full: prepare the next batch of each channel while it is out,
        # so slots freed by the answers are refilled at once rather than after a claim.
        if window.ready_sms_count < self.limit // 2:
            self._claim(Channel.SMS)
        for channel in _LANED:
            if len(window.ready_laned[channel]) < self.slots[channel]:
                self._claim(channel)

    def _wait(self) -> float:
        """How long to wait for an answer before looking again: until the next write
        falls due, or the rate limit hands out a token."""
        now = time.monotonic()
        waits = [FLUSH_AFTER_SECONDS]
        if self.window.unrecorded:
            waits.append(self.window.oldest_unrecorded + self._flush_after() - now)
        if self.window.token_due:
            waits.append(min(self.window.token_due.values()) - now)
        wait = max(0.0, min(waits))
        return wait if self.window.in_flight else max(0.001, wait)

    def _blocked(self) -> bool:
        """Ready messages wait for slots that unwritten outcomes hold."""
        return self.window.ready > 0 and self._free_slots() <= 0

    def _flush_after(self) -> float:
        return BLOCKED_FLUSH_SECONDS if self._blocked() else FLUSH_AFTER_SECONDS

    def _flush_due(self) -> bool:
        unrecorded = self.window.unrecorded
        if not unrecorded:
            return False
        return (
            self.window.in_flight == 0
            or len(unrecorded) >= self.limit // 2
            or (self._blocked() and len(unrecorded) >= self.flush_at)
            or time.monotonic() - self.window.oldest_unrecorded >= self._flush_after()
        )

    # --- claim and prepare -----------------------------------------------------------------

    def _claim(self, channel: str) -> bool:
        """Claim and prepare the next batch of ``channel``; ``False`` when there is none
        left (or the time is up)."""
        todo = self.window.todo[channel]
        if self._out_of_time():
            return False
        if not todo:
            return self._take_more(channel)
        ids = [todo.popleft() for _ in range(min(len(todo), max(self.limit, 16)))]
        claimed = notifications_claim(ids=ids)
        self.own_left.difference_update(set(ids) - {notification.pk for notification in claimed})
        if claimed:
            self._prepare_batch(claimed)
        return True

    def _take_more(self, channel: str) -> bool:
        """A task's channels finish at different speeds (SMS wait on the provider, email
        on its lanes): while its own work goes on, the channel that ran dry takes the
        next due rows of its kind from the outbox rather than idle. Other tasks then
        find those rows taken and skip them."""
        if not (self.take_more and self.own_left) or channel not in (Channel.SMS, Channel.EMAIL):
            return False
        if time.monotonic() < self.outbox_dry_until.get(channel, 0.0):
            return False
        claimed = notifications_claim(channel=channel, limit=self.limit)
        if not claimed:
            self.outbox_dry_until[channel] = time.monotonic() + OUTBOX_DRY_SECONDS
            return False
        for notification in claimed:
            self.results[notification.pk] = "skipped"
        self._prepare_batch(claimed)
        return True

    def _prepare_batch(self, claimed: list[Notification]) -> None:
        now = timezone.now()
        bare = [notification for notification in claimed if not notification.body]
        if bare:
            try:
                messages_render(bare)
            except Exception:
                logger.exception("batch rendering failed; rendering one by one")
                for notification in bare:
                    try:
                        messages_render([notification])
                    except Exception as error:  # noqa: BLE001 - a poison message fails alone
                        self._done(_failed(notification, f"could not render the message: {_describe(error)}"))
        said_before = _sms_said_before([row for row in claimed if row.channel == Channel.SMS and row.body])
        for notification in claimed:
            if self.results[notification.pk] != "skipped":
                continue  # failed while rendering
            try:
                self._prepare(notification, now, said_before)
            except Exception as error:
                logger.exception("message could not be built", extra={"notification": notification.pk})
                self._done(_failed(notification, f"could not build the message: {_describe(error)}"))

    def _prepare(self, notification: Notification, now: datetime, said_before: set[tuple[int, int, str]]) -> None:
        refusal = _refusal(notification)
        if refusal:
            self._done(Outcome.of(notification, "suppressed", status=Status.SUPPRESSED, last_error=refusal))
            return
        if notification.channel == Channel.SMS:
            if not notification.critical:
                release = quiet_hours_release(now, zone=recipient_zone(notification.recipient, now=now))
                if release > now:
                    self._done(
                        Outcome.of(
                            notification, "deferred", status=Status.PENDING, next_attempt_at=release, attempts_delta=-1
                        )
                    )
                    return
            if (notification.customer_id, notification.incident_id, notification.body) in said_before:
                self._done(
                    Outcome.of(
                        notification,
                        "suppressed",
                        status=Status.SUPPRESSED,
                        last_error="says nothing new: the customer had this exact SMS already",
                    )
                )
                return
            sender = self.sms_config.sender_for(notification.recipient)
            self.window.ready_sms.setdefault(sender, deque()).append(_Outgoing(notification, sender=sender))
            self.window.ready_sms_count += 1
        elif notification.channel == Channel.EMAIL:
            self.window.ready_laned[Channel.EMAIL].append(_Outgoing(notification, email=build_email(notification)))
        elif notification.channel == Channel.WEBHOOK:
            headers = webhook_headers(notification, now=now)
            self.window.ready_laned[Channel.WEBHOOK].append(_Outgoing(notification, headers=headers))
        else:
            self.window.ready_laned[Channel.CHAT].append(_Outgoing(notification))
        self.window.ready += 1

    def _release_ready(self) -> None:
        """Claimed but not handed over (out of time, or stopped by an error): back to pending, not an attempt."""
        waiting: list[_Outgoing] = []
        for queued in [*self.window.ready_laned.values(), *self.window.ready_sms.values()]:
            waiting.extend(queued)
            queued.clear()
        self.window.ready_sms.clear()
        self.window.ready = self.window.ready_sms_count = 0
        for outgoing in waiting:
            self._done(
                Outcome.of(outgoing.notification, "left", status=Status.PENDING, queued_at=None, attempts_delta=-1)
            )

    # --- hand over and collect -------------------------------------------------------------

    def _next_outgoing(self) -> _Outgoing | None:
        """The next message to hand over: one for a laned channel (email, webhook, chat)
        while its lanes have room, else an SMS whose sender has a token."""
        window = self.window
        for channel in _LANED:
            if window.ready_laned[channel] and window.laned_in_flight[channel] < self.slots[channel]:
                window.ready -= 1
                return window.ready_laned[channel].popleft()
        now = time.monotonic()
        for sender, waiting in window.ready_sms.items():
            if not waiting:
                continue
            if window.tokens.get(sender, 0) == 0:
                if window.token_due.get(sender, 0) > now:
                    continue
                granted, wait = sms_bucket(sender).take(min(len(waiting), self._free_slots()))
                window.tokens[sender] = granted
                if granted == 0:
                    window.token_due[sender] = now + wait
                    continue
                window.token_due.pop(sender, None)
            window.tokens[sender] -= 1
            window.ready -= 1
            window.ready_sms_count -= 1
            return waiting.popleft()
        return None

    def _hand_over(self, outgoing: _Outgoing) -> None:
        notification = outgoing.notification
        future: Future[Sent]
        try:
            if notification.channel == Channel.SMS:
                future = self.engine.send_sms(
                    config=self.sms_config,
                    to=notification.recipient,
                    body=notification.body,
                    notification_id=notification.pk,
                )
            elif outgoing.email is not None:  # the email channel: its message was built when it was queued
                future = self.engine.send_email(outgoing.email)
            elif notification.channel == Channel.WEBHOOK:
                future = self.engine.send_webhook(
                    config=self.webhook_config,
                    url=notification.webhook_endpoint.url,  # type: ignore[union-attr]  # a webhook row has its endpoint
                    body=notification.body,
                    headers=outgoing.headers or {},
                )
            else:
                future = self.engine.send_chat(
                    apprise_url=notification.chat_destination.apprise_url,  # type: ignore[union-attr]  # and a chat row its chat
                    title=notification.subject,
                    body=notification.body,
                )
        except Exception as error:  # noqa: BLE001 - the engine refused it: that message fails alone
            self._done(_failure(notification, error))
            return
        self.window.in_flight += 1
        if notification.channel in _LANED:
            self.window.laned_in_flight[notification.channel] += 1
        results = self.window.results
        future.add_done_callback(lambda done: results.put((outgoing, _result_of(done))))

    def _collect(self, *, timeout: float) -> None:
        window = self.window
        try:
            outgoing, result = window.results.get(timeout=timeout) if timeout > 0 else window.results.get_nowait()
        except queue.Empty:
            return
        while True:
            window.in_flight -= 1
            if outgoing.notification.channel in _LANED:
                window.laned_in_flight[outgoing.notification.channel] -= 1
            if isinstance(result, Sent):
                self._done(
                    Outcome.of(
                        outgoing.notification,
                        "sent",
                        status=Status.SENT,
                        provider_message_id=result.provider_message_id[:64],
                        provider_status=result.provider_status[:20],
                        sent_at=timezone.now(),
                    )
                )
            else:
                self._done(_failure(outgoing.notification, result))
            try:
                outgoing, result = window.results.get_nowait()
            except queue.Empty:
                return

    def _done(self, outcome: Outcome) -> None:
        self.own_left.discard(outcome.notification.pk)
        if not self.window.unrecorded:
            self.window.oldest_unrecorded = time.monotonic()
        self.window.unrecorded.append(outcome)
        self.results[outcome.notification.pk] = outcome.result

    def _record(self) -> None:
        outcomes, self.window.unrecorded = self.window.unrecorded, []
        if not outcomes:
            return
        _write_through_an_outage(outcomes)
        deliveries = [
            (endpoint_id, outcome.result)
            for outcome in outcomes
            if (endpoint_id := outcome.notification.webhook_endpoint_id)
        ]
        if deliveries:
            webhook_endpoints_health_record(
                succeeded={endpoint_id for endpoint_id, result in deliveries if result == "sent"},
                failed={endpoint_id for endpoint_id, result in deliveries if result in ("retry", "failed")},
            )
        retries = [outcome for outcome in outcomes if outcome.retry_in is not None]
        if retries:
            ids = [outcome.notification.pk for outcome in retries]
            enqueue_on_commit(SEND_TASK, ids, countdown=max(outcome.retry_in or 0 for outcome in retries))


# A database that went away (restarting, failing over) is waited for this long
# before the outcomes are given up: written late, they are not sent again; given
# up, the sweeper frees their rows after the lease and they go out twice.
OUTAGE_WAIT_SECONDS = 60


def _write_through_an_outage(outcomes: list[Outcome]) -> None:
    """Write the outcomes, waiting (with a fresh connection each try) while the database cannot be reached."""
    deadline = time.monotonic() + OUTAGE_WAIT_SECONDS
    pause = 0.25
    while True:
        try:
            outcomes_write(outcomes)
            return
        except DatabaseError as error:
            if not database_unreachable(error) or time.monotonic() + pause > deadline:
                raise
            logger.warning(
                "database unreachable; outcomes held until it is back",
                extra={"count": len(outcomes), "error": type(error).__name__},
            )
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _result_of(future: Future[Sent]) -> Sent | BaseException:
    error = future.exception()
    return error if error is not None else future.result()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:250]


def _failed(notification: Notification, error: str) -> Outcome:
    return Outcome.of(notification, "failed", status=Status.FAILED, last_error=error)


def _failure(notification: Notification, error: BaseException) -> Outcome:
    """A provider's refusal is retried or given up by its rule; any other error fails the message."""
    if not isinstance(error, TransportError):
        logger.error(
            "message failed with an unexpected error",
            extra={"notification": notification.pk, "error": _describe(error)},
            exc_info=error,
        )
        return _failed(notification, f"could not send: {_describe(error)}")
    if error.opt_out:
        _opt_out_record(notification)
    if error.uncertain:
        logger.warning(
            "notification uncertain: the provider may have it",
            extra={"notification": notification.pk, "error": str(error)},
        )
    if error.permanent or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        logger.warning(
            "notification failed",
            extra={"notification": notification.pk, "error": str(error), "permanent": error.permanent},
        )
        return Outcome.of(
            notification, "failed", status=Status.FAILED, last_error=str(error)[:300], uncertain=error.uncertain
        )
    delay = backoff_seconds(notification.attempts)
    logger.info(
        "notification will be retried",
        extra={"notification": notification.pk, "in_seconds": round(delay, 1), "error": str(error)},
    )
    return Outcome.of(
        notification,
        "retry",
        status=Status.PENDING,
        last_error=str(error)[:300],
        uncertain=error.uncertain,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        queued_at=timezone.now(),
        retry_in=delay,
    )


def _opt_out_record(notification: Notification) -> None:
    """The provider says the number replied STOP (record it as if they had told us),
    or a webhook endpoint answered 410 Gone (it is disabled)."""
    if notification.channel == Channel.WEBHOOK and notification.webhook_endpoint is not None:
        webhook_endpoint_disable(endpoint=notification.webhook_endpoint, reason="the endpoint answered 410 Gone")
        return
    address_opt_out(channel=Channel.SMS, address=notification.recipient)


def _refusal(notification: Notification) -> str:
    """Why this message may not go to its recipient now, or ''. Sets the current address."""
    channel = notification.channel
    if (customer := notification.customer) is not None:
        address, consent = (
            (customer.phone, customer.sms_consent)
            if channel == Channel.SMS
            else (customer.email, customer.email_consent)
        )
        if not consent:
            return "recipient opted out of this channel"
        if not address:
            return "recipient has no address for this channel"
        notification.recipient = address  # contact details change; the one on file now is the one to use
        return ""
    if (subscription := notification.subscription) is not None:
        confirming = notification.event_type == EventType.STATUS_CONFIRM
        if subscription.unsubscribed_at is not None or not (confirming or subscription.is_active):
            return "recipient unsubscribed"
        return ""
    if (endpoint := notification.webhook_endpoint) is not None:
        if not endpoint.is_enabled:
            return "endpoint disabled"
        if notification.subject not in endpoint.events:
            return "endpoint no longer takes this event"
        return ""
    if (chat := notification.chat_destination) is not None:
        return "" if chat.is_enabled else "chat disabled"
    user = notification.staff_user
    if user is None or not user.is_active or not user.email:
        return "staff member inactive or without an email address"
    notification.recipient = user.email
    return ""


def _sms_said_before(rows: list[Notification]) -> set[tuple[int, int, str]]:
    """(customer, incident, text) of SMS these customers already had about these incidents."""
    keyed = [row for row in rows if row.customer_id and row.incident_id]
    if not keyed:
        return set()
    earlier = Notification.objects.filter(
        channel=Channel.SMS,
        status__in=[Status.SENT, Status.DELIVERED],
        customer_id__in={row.customer_id for row in keyed},
        incident_id__in={row.incident_id for row in keyed},
    ).values_list("customer_id", "incident_id", "body")
    return set(earlier)


# --- the services --------------------------------------------------------------------------


def notifications_claim(*, ids: list[int] | None = None, channel: str = "", limit: int = 0) -> list[Notification]:
    """Claim due pending rows for this caller, in one short transaction: those among
    ``ids``, or (``channel`` and ``limit``) the next due ones of a channel in the whole outbox.

    ``SKIP LOCKED`` and the status condition mean each row is claimed by one
    caller only; the others get nothing for it. A claimed row forgets the
    provider id of any earlier attempt, so a late receipt for that attempt
    cannot mark this one delivered.
    """
    now = timezone.now()
    due = Notification.objects.select_for_update(skip_locked=True).filter(
        status=Status.PENDING, next_attempt_at__lte=now
    )
    # Without ids: along the partial index of pending rows by channel and due time.
    due = due.filter(pk__in=ids) if ids is not None else due.filter(channel=channel).order_by("next_attempt_at")[:limit]
    with transaction.atomic():
        claimable = list(due.values_list("pk", flat=True))
        if not claimable:
            return []
        Notification.objects.filter(pk__in=claimable).update(
            status=Status.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            provider_message_id="",
            provider_status="",
        )
    return list(
        Notification.objects.filter(pk__in=claimable)
        .select_related("customer", "subscription", "staff_user", "webhook_endpoint", "chat_destination")
        .order_by("pk")
    )


def notifications_send(*, ids: list[int], deadline: float | None = None, take_more: bool = False) -> dict[int, str]:
    """Send the given messages that are still pending and due; returns each one's outcome.

    Safe to call any number of times, from any number of workers: only the
    caller that claimed a row calls the provider for it. With ``take_more`` a
    channel that runs out of these ids while others remain takes due rows of its
    kind from the outbox (they are in the result too). Outcomes: ``sent``,
    ``retry``, ``failed``, ``suppressed`` (consent, or nothing new to say),
    ``deferred`` (quiet hours), ``skipped`` (not claimable: done, not due, or
    another worker's), ``left`` (not reached before ``deadline``).
    """
    sender = _Sender(ids, deadline=deadline, take_more=take_more)
    results = sender.run()
    for channel_todo in sender.window.todo.values():
        for notification_id in channel_todo:
            results[notification_id] = "left"  # never claimed: the deadline came first
    return results


def notification_send(*, notification_id: int) -> str:
    """Send one message if it is still pending and due. Returns what happened."""
    return notifications_send(ids=[notification_id])[notification_id]


def notifications_send_task_run(*, ids: list[int]) -> dict[str, int]:
    """The send task's body: send within the task's budget, queue the rest as a new task."""
    results = notifications_send(ids=ids, deadline=time.monotonic() + TASK_BUDGET_SECONDS, take_more=True)
    left = [notification_id for notification_id, result in results.items() if result == "left"]
    if left:
        enqueue(SEND_TASK, left)
    counts: dict[str, int] = {}
    for result in results.values():
        counts[result] = counts.get(result, 0) + 1
    return counts

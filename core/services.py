from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.models import ApiToken, WorkerHeartbeat


def worker_heartbeat_record(*, worker: str) -> None:
    """Upsert the worker's last-seen time (one row per worker, safe to repeat)."""
    WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"seen_at": timezone.now()})


# A busy worker shows it is alive by finishing tasks; at most one write per worker this often.
TASK_HEARTBEAT_EVERY_SECONDS = 15


def worker_heartbeat_note(*, worker: str) -> None:
    """After each finished task: a heartbeat, at most every 15 s per worker.

    Beat's heartbeat task waits in the queue behind a large fan-out's send tasks and
    expires there, which made /healthz report a working worker as down for the whole
    fan-out (found by the fault suite). A finished task proves worker and broker just
    as well. Safe to call often: the cache decides, one upsert when it says so.
    """
    try:
        due = cache.add(f"worker-heartbeat:{worker}", 1, timeout=TASK_HEARTBEAT_EVERY_SECONDS)
    except Exception:  # noqa: BLE001 - no cache: skip; beat's heartbeat still comes when the queue allows
        return
    if due:
        worker_heartbeat_record(worker=worker)


# A token's last use is written at most this often: one UPDATE per minute per
# client, not one per API call.
TOKEN_USE_RECORD_EVERY = timedelta(minutes=1)


def api_token_issue(*, name: str, user: User, expires_at: datetime | None = None) -> ApiToken:
    """A new live token for one client system. Refused while the client or the account
    still has a live one: revoke that first (the unique indexes are the guard)."""
    try:
        with transaction.atomic():
            return ApiToken.objects.create(name=name, user=user, expires_at=expires_at)
    except IntegrityError:
        raise DomainError(
            _("%(name)s already has a live token; revoke it first.") % {"name": name or user.get_username()}
        ) from None


def api_tokens_revoke(*, token_ids: list[int]) -> int:
    """Revoke live tokens (one UPDATE); returns how many changed. Idempotent."""
    return ApiToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_use_record(*, token: ApiToken, now: datetime | None = None) -> None:
    """Stamp the token's last use, at most once a minute (a conditional UPDATE)."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_USE_RECORD_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOKEN_USE_RECORD_EVERY)
    ).update(last_used_at=now)

"""``celery`` for the fault suite, with the outbox's retry backoff compressed.

Production retries a failed SMS after 30 s, doubling to an hour; the suite's
"provider fails 30 %" scenario would then take hours to drain. Here the base is
FAULT_BACKOFF_BASE_SECONDS (default 1) and the ceiling FAULT_BACKOFF_MAX_SECONDS
(default 8); everything else is the production code path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from notifications import outcomes  # noqa: E402

outcomes.BACKOFF_BASE_SECONDS = float(os.environ.get("FAULT_BACKOFF_BASE_SECONDS", "1"))
outcomes.BACKOFF_MAX_SECONDS = float(os.environ.get("FAULT_BACKOFF_MAX_SECONDS", "8"))

from celery.__main__ import main  # noqa: E402

sys.argv[0] = "celery"
sys.exit(main())

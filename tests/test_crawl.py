"""Every page each role is shown answers below 500: on the quick start's SQLite and on PostgreSQL.

The permission matrix (``test_permission_matrix.py``) says what each role may open;
this says whether what it is shown works, on the demo data ``bin/run`` loads.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection

from tests import crawl, quickstart

pytestmark = pytest.mark.django_db


# Pages each role must have reached by following links: the crawl went where the work is.
REACHED = {
    "anonymous": [r"/history/", r"/track/", r"/complaints/new/", r"/incidents/\d+/"],
    "agent": [r"/admin/complaints/complaint/\d+/change/", r"/admin/customers/customer/"],
    "manager": [
        r"/admin/incidents/incident/\d+/change/",
        r"/admin/reports/dashboard/",
        r"/admin/reports/incidents/\d+/pdf/",
    ],
    "supervisor": [r"/admin/reports/incidents/\d+/", r"/admin/compensation/coupon/"],
    "admin": [r"/admin/auth/user/\d+/change/", r"/admin/incidents/incident/\d+/history/"],
}


def _assert_every_role_crawled_without_server_errors(crawls: list[dict]) -> None:
    assert [result["role"] for result in crawls] == list(crawl.ROLES)
    assert [result for result in crawls if result["failures"]] == [], crawl.report(crawls)
    pages = {result["role"]: result["pages"] for result in crawls}
    unreached = [
        (role, pattern)
        for role, patterns in REACHED.items()
        for pattern in patterns
        if not any(re.fullmatch(pattern, page) for page in pages[role])
    ]
    assert unreached == [], crawl.report(crawls)


def test_every_page_each_role_is_shown_works_on_the_quick_start_sqlite(quickstart_database, tmp_path):
    # given the quick start: SQLite, the filesystem broker, the demo data, in its own process
    crawls = quickstart.run("tests.crawl:crawl_demo", var_dir=tmp_path, template=quickstart_database)

    # then no page any role is shown answers 500 or more
    _assert_every_role_crawled_without_server_errors(crawls)


def test_every_page_each_role_is_shown_works_on_postgresql():
    # given the demo data on PostgreSQL
    assert connection.vendor == "postgresql"

    # when each role follows every link it is shown
    crawls = crawl.crawl_demo()

    # then no page answers 500 or more
    _assert_every_role_crawled_without_server_errors(crawls)

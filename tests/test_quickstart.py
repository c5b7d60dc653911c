"""The quick start's configuration (SQLite, the filesystem broker) as ``bin/run`` starts it."""

from __future__ import annotations

from tests import quickstart


def test_the_system_check_has_no_warning_on_the_quick_start(quickstart_database, tmp_path):
    # when Django checks the project on the embedded defaults, the database included
    warnings = quickstart.run("tests.quickstart:system_check", var_dir=tmp_path, template=quickstart_database)

    # then nothing is left out or wrong there, e.g. a constraint SQLite cannot create
    assert warnings == []

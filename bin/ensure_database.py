"""Create the PostgreSQL database named by DATABASE_URL if it does not exist yet.

bin/run calls this before migrating, so pointing DATABASE_URL at a fresh server
just works. Does nothing for SQLite or when the database is already there.
"""

from __future__ import annotations

import os
import sys

import dj_database_url
import psycopg
from psycopg import sql


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return 0
    config = dj_database_url.parse(url)
    connection_arguments = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
    }
    try:
        psycopg.connect(dbname=config["NAME"], connect_timeout=5, **connection_arguments).close()
        return 0
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            print(f"Cannot reach PostgreSQL at {config['HOST']}:{config['PORT']}: {error}".strip(), file=sys.stderr)
            return 1
    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **connection_arguments) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    print(f"Created database {config['NAME']}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

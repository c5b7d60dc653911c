"""Run one call from several threads at once, each with its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_together(call: Callable[[int], T], times: int) -> list[T]:
    """Start ``times`` threads that all call ``call(index)`` at the same moment; returns
    their results in index order and re-raises the first error any of them hit."""
    barrier = threading.Barrier(times)
    results: list[T | None] = [None] * times
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except BaseException as error:  # noqa: BLE001 - handed back to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]

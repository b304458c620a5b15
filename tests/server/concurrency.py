"""Running requests truly at once: each in its own thread, app context and test client, released together."""
from __future__ import annotations

import threading
from collections.abc import Callable

WAIT = 60  # seconds; a thread still running after this is a hang, reported as a failure


def answered(response) -> tuple[int, dict | None]:
    """A push's status and body, read in the thread that made it."""
    return response.status_code, response.get_json(silent=True)


def concurrently(app, *calls: Callable) -> list:
    """Run each call in its own thread, app context and test client, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index, call):
        try:
            with app.app_context():
                client = app.test_client()
                barrier.wait(timeout=WAIT)
                results[index] = call(client)
        except BaseException as exc:  # reported in the test's thread below
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a concurrent push hung"
    if failures:
        raise failures[0]
    return results



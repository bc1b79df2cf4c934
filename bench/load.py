"""A bounded HTTP load generator (stdlib only): client processes loop GETs for a fixed time."""

from __future__ import annotations

import http.client
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 10.0
# Time for every client process to start before the shared measuring window opens.
START_DELAY = 1.0


@dataclass
class LoadResult:
    """What the clients saw together over one measuring window."""

    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return self.statuses[200]

    @property
    def attempts(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        others = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()) if status != 200)
        errors = ", ".join(f"{name}: {n}" for name, n in sorted(self.errors.items()))
        return (
            f"{self.attempts} requests in {self.seconds:.1f} s, {self.ok} answered 200, "
            f"other statuses [{others or 'none'}], errors [{errors or 'none'}]"
        )


def _client(
    port: int, path: str, headers: dict[str, str], start_at: float, stop_at: float
) -> tuple[Counter[int], Counter[str], float]:
    """One client: a new connection per request (gunicorn's sync workers do not keep alive)."""
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request("GET", path, headers={**headers, "Connection": "close"})
            response = connection.getresponse()
            response.read()
            statuses[response.status] += 1
        except (OSError, http.client.HTTPException) as exc:
            errors[type(exc).__name__] += 1
        finally:
            connection.close()
    return statuses, errors, time.time()


def run_load(port: int, path: str, headers: dict[str, str], *, clients: int, seconds: float) -> LoadResult:
    """Drive GET ``path`` on 127.0.0.1:``port`` from ``clients`` processes for ``seconds``."""
    start_at = time.time() + START_DELAY
    stop_at = start_at + seconds
    arguments = [(port, path, headers, start_at, stop_at)] * clients
    deadline = START_DELAY + seconds + REQUEST_TIMEOUT + 30
    # spawn: the clients need nothing from this process but their arguments.
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        try:
            outcomes = pool.starmap_async(_client, arguments).get(timeout=deadline)
        except multiprocessing.TimeoutError:
            raise RuntimeError(f"the load clients did not finish within {deadline:.0f} s") from None
    # A request still in flight at stop_at is counted, so the window ends at the last finish.
    result = LoadResult(seconds=max(finished for *_, finished in outcomes) - start_at)
    for statuses, errors, _finished in outcomes:
        result.statuses.update(statuses)
        result.errors.update(errors)
    return result

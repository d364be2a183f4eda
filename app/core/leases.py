"""Short leases, renewed while the work goes on.

A scheduler pass leases what it works on (an outbox message during its exchange, a batch of
reminders between claim and queuing) for a short time and a thread renews the lease every
third of it while the work runs. A pass that dies stops renewing, so its claims run out within
one lease (seconds, not minutes) and another pass takes them over; a pass that is merely slow
(a sluggish SMTP server) keeps its claims. Renewals use the pass's own clock (`PassClock`),
which the tests inject.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app

from app.core.unit_of_work import unit_of_work
from app.extensions import db

log = logging.getLogger("linghang.leases")


class PassClock:
    """The pass's `now` moved on by the time the pass has taken (monotonic), so leases taken
    late in a long pass still run from the moment they are taken."""

    def __init__(self, now: datetime) -> None:
        self.start = now
        self.started = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.started)


class Renewal:
    """Run `renew(now)` every `every` while the block runs, in a thread with its own unit of work."""

    def __init__(self, renew: Callable[[datetime], None], clock: Callable[[], datetime], every: timedelta) -> None:
        self.renew = renew
        self.clock = clock
        self.every = every.total_seconds()
        self.app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lease-renewal", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            with self.app.app_context():
                try:
                    with unit_of_work():
                        self.renew(self.clock())
                except Exception:  # a missed renewal only shortens the lease; the work goes on
                    log.exception("renewing a lease failed")
                finally:
                    db.session.remove()

    def __enter__(self) -> Renewal:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()

"""Virtual users of a Linghang deployment, for locust (driven by bench/bench_load.py).

Reads the fixture written by bench/load_data.py from LOAD_FIXTURE. Request names are page
classes, so locust's statistics give one percentile line per class:

  feed 304        an enterprise's calendar app polling its subscription (If-None-Match)
  feed 200        the same without a validator (first poll, or a client that keeps none)
  dashboard       staff: the year's figures; ledger: the problem list; problem: one problem
  activities      staff: the activity list; activity: one activity; calendar: the month grid
  answer page     an invitee opening the answer link; answer: posting the answer
  check-in        staff checking people in at the large event, by code
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

from locust import HttpUser, between, task

FIXTURE = json.loads(Path(os.environ["LOAD_FIXTURE"]).read_text(encoding="utf-8"))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ANSWERS = ["accepted", "declined", "tentative"]
# Each code is checked in once: the desks share the queue of people at the door.
DOOR = iter(random.sample(FIXTURE["checkin_codes"], len(FIXTURE["checkin_codes"])))


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF.search(html)
    return match.group(1) if match else ""


class FeedSubscriber(HttpUser):
    """A calendar app polling one subscription, keeping the ETag as real clients do."""

    weight = 6
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.token = random.choice(FIXTURE["feeds"])
        self.etag: str | None = None

    @task
    def poll(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        with self.client.get(f"/feeds/{self.token}.ics", headers=headers, name="feed 304" if self.etag else "feed 200",
                             catch_response=True) as response:
            if response.status_code in (200, 304):
                self.etag = response.headers.get("ETag") or self.etag
                response.success()
            else:
                response.failure(f"status {response.status_code}")
        if random.random() < 0.1:  # some clients keep no validator
            self.etag = None


class Staff(HttpUser):
    """An organiser at the county: dashboard, ledger, problems, activities, calendar."""

    weight = 3
    wait_time = between(1, 3)

    def on_start(self) -> None:
        page = self.client.get("/login", name="log-in page")
        self.client.post("/login", name="log in", data={
            "csrf_token": csrf_of(page.text), "email": random.choice(FIXTURE["staff"]), "password": FIXTURE["password"],
        })

    @task(2)
    def dashboard(self) -> None:
        self.client.get("/dashboard", name="dashboard")

    @task(2)
    def ledger(self) -> None:
        self.client.get("/problems", name="ledger")

    @task(2)
    def problem(self) -> None:
        self.client.get(f"/problems/{random.choice(FIXTURE['problems'])}", name="problem")

    @task(2)
    def activities(self) -> None:
        self.client.get("/activities", name="activities")

    @task(2)
    def activity(self) -> None:
        self.client.get(f"/activities/{random.choice(FIXTURE['activities'])}", name="activity")

    @task(1)
    def calendar(self) -> None:
        self.client.get("/calendar", name="calendar")


class Invitee(HttpUser):
    """Someone opening the answer link from a message and answering."""

    weight = 2
    wait_time = between(1, 3)

    @task
    def answer(self) -> None:
        path = f"/rsvp/{random.choice(FIXTURE['answers'])}"
        page = self.client.get(path, name="answer page")
        self.client.post(path, name="answer", data={
            "csrf_token": csrf_of(page.text), "answer": random.choice(ANSWERS), "seats": "1",
        })


class CheckInDesk(HttpUser):
    """A staff member at the entrance of the large event, checking people in by code."""

    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        page = self.client.get("/login", name="log-in page")
        self.client.post("/login", name="log in", data={
            "csrf_token": csrf_of(page.text), "email": FIXTURE["staff"][0], "password": FIXTURE["password"],
        })
        self.desk = f"/activities/{FIXTURE['big_event']}/checkin"

    @task
    def check_in(self) -> None:
        code = next(DOOR, None)
        page = self.client.get(self.desk, name="check-in page")
        if code is not None:
            self.client.post(self.desk, name="check-in", data={"csrf_token": csrf_of(page.text), "code": code})

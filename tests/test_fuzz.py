"""Hostile input to every route, query argument and form field, as every role: never a 500.

Table-driven and deterministic: the routes come from app.url_map, path arguments are filled
with ids of a small seeded county (one of everything; the demo county makes every page slow), form fields are read from the pages themselves (html.parser), and
each field gets values from the table below (a fixed sample, so the run stays short). A POST
that is refused (4xx) must leave every table's row count as it was.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import func, literal, select, union_all
from werkzeug.datastructures import MultiDict

from app.auth.models import User
from app.events.models import ActivityKind
from app.extensions import db
from app.feeds import services as feeds
from app.invitations.services import Selection, invite
from app.mail.models import OutboxMessage
from app.orgs.models import InstructorAssignment, OrgKind, Person
from app.problems import records
from app.problems.models import FollowUp
from tests import factories

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)

HUGE_INTS = ["2147483648", "9223372036854775808", "-1", "99999999999999999999"]
TEXTS = [
    "\x00",
    "标题\x0b第二行\x0c\x1b[31m\x7f\x85\u2028末尾\r\n",
    "长" * 10_000,
    '=HYPERLINK("http://evil.example","点我")',
]
DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "0001-01-01T00:00", "9999-12-31T23:59"]
AMOUNTS = ["1e12", "Infinity", "NaN", "-1e13"]
RRULES = ["FREQ=SECONDLY;COUNT=99999999", "FREQ=DAILY;UNTIL=99991231T000000Z", "FREQ=;BYDAY=XX;;", "FREQ=YEARLY;BYMONTHDAY=400"]
EVERYTHING = [*HUGE_INTS, *TEXTS, *DATES, *AMOUNTS, *RRULES]
# Invalid UTF-8 and a NUL, percent-encoded as a hostile client would send them.
RAW_QUERY_VALUES = ["%ff%fe", "%00", "%c0%af%ed%a0%80"]
# Query arguments the views read, plus whatever the pages' links and filter forms carry.
KNOWN_ARGS = [
    "page", "q", "year", "month", "start", "end", "status", "kind", "enterprise", "activity", "alliance",
    "department", "theme", "organisation", "category", "overdue", "type", "id", "org", "all", "inactive",
    "next", "venue_id", "theme_id", "alliance_id", "site_id", "host_id", "cohost_ids", "title", "starts_at",
    "ends_at", "saved", "date", "day", "minutes", "duration",
]
PATH_HOSTILE = ["2147483648", "0", "99999999999999999999", "9223372036854775808"]
# Routes that end the session or only switch the language; fuzzing them tests nothing here.
SKIP_POST = {"/logout"}
ROLES = [None, "contact", "liaison", "instructor", "organiser", "admin"]
FORM_BUDGET = 8  # submissions per form for the first role that sees it
REPEAT_BUDGET = 1  # for every other role that sees the same form


def values_for(kind: str, name: str) -> list[str]:
    """The hostile values that fit a field (every field also gets one NUL)."""
    if "rrule" in name:
        return RRULES + TEXTS[:1]
    if kind == "number":
        return HUGE_INTS + AMOUNTS
    if kind in ("date", "datetime-local", "time"):
        return DATES + TEXTS[:1]
    if kind in ("checkbox", "radio", "select"):
        return HUGE_INTS[:2] + TEXTS[:1] + ["abc"]
    return TEXTS + DATES[:1] + HUGE_INTS[:1]


@dataclass
class Form:
    """A form as a browser sees it: where it goes, what it sends by default, its fields' kinds."""

    action: str
    method: str
    multipart: bool
    defaults: list[tuple[str, str]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)

    def key(self) -> tuple:
        return (re.sub(r"\d+", "N", self.action), self.method, tuple(sorted(self.kinds)))


class PageParser(HTMLParser):
    """Collects the forms and the links' query argument names of a page."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self.arg_names: set[str] = set()
        self._form: Form | None = None
        self._select: str | None = None
        self._select_has_default = False

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "a" and "?" in attributes.get("href", ""):
            self.arg_names.update(name for name, _v in parse_qsl(urlsplit(attributes["href"]).query))
        if tag == "form":
            self._form = Form(
                action=attributes.get("action") or self.page_url,
                method=(attributes.get("method") or "get").lower(),
                multipart="multipart" in attributes.get("enctype", ""),
            )
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attributes.get("name")
        if tag in ("input", "button") and name:
            kind = attributes.get("type", "text" if tag == "input" else "submit")
            if kind == "file":
                return
            self._form.kinds.setdefault(name, kind)
            if kind not in ("checkbox", "radio", "submit") or "checked" in attributes:
                self._form.defaults.append((name, attributes.get("value", "")))
        elif tag == "select" and name:
            self._form.kinds.setdefault(name, "select")
            self._select, self._select_has_default = name, False
        elif tag == "option" and self._select:
            if not self._select_has_default or "selected" in attributes:
                self._form.defaults = [(n, v) for n, v in self._form.defaults if n != self._select or "multiple" in attributes]
                self._form.defaults.append((self._select, attributes.get("value", "")))
                self._select_has_default = True
        elif tag == "textarea" and name:
            self._form.kinds.setdefault(name, "textarea")
            self._form.defaults.append((name, ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


@dataclass
class Findings:
    """What went wrong: server errors and refused requests that still wrote rows."""

    errors: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    requests: int = 0


def row_counts() -> dict[str, int]:
    """Every table's row count, in one query."""
    parts = [select(literal(t.name).label("name"), func.count().label("n")).select_from(t) for t in db.metadata.sorted_tables]
    return dict(db.session.execute(union_all(*parts)).all())


def seed() -> dict:
    """A small county with one of everything a page can show, and an account of every role."""
    committee = factories.organisation(OrgKind.committee, name="综合党委")
    alliance = factories.organisation(OrgKind.alliance, name="电子信息联盟")
    e1, e2 = factories.organisation(name="立伟轻工"), factories.organisation(name="创泰活塞")
    for enterprise in (e1, e2):
        factories.member(alliance, enterprise)
    department = factories.organisation(OrgKind.department, name="税务局")
    users = {
        "admin": factories.user("admin", org=committee),
        "organiser": factories.user("organiser", org=committee),
        "liaison": factories.user("liaison", org=department),
        "contact": factories.user("contact", org=e1),
        "instructor": factories.user("instructor", org=committee),
    }
    db.session.add(InstructorAssignment(instructor=users["instructor"].person, enterprise=e1))
    other_contact = factories.person(e2, name="聂春生")
    venue = factories.venue()
    theme = factories.theme(year=2026, month=3)
    upcoming = factories.activity(
        starts_at=NOW + timedelta(days=3), host=committee, alliance=alliance, venue=venue, theme=theme,
        organiser=users["organiser"].person, capacity=30,
    )
    visit = factories.activity(
        ActivityKind.visit, starts_at=NOW + timedelta(days=2), host=committee, site=e1, organiser=users["instructor"].person,
    )
    past = factories.activity(starts_at=NOW - timedelta(days=3), host=committee, alliance=alliance, status="completed")
    factories.activity(starts_at=NOW + timedelta(days=5), host=committee, status="draft")
    invited, rsvp_plain = factories.invitation(upcoming, users["contact"].person, now=NOW)
    factories.answered_invitation(past, users["contact"].person)
    invite(upcoming, Selection(organisation_ids=[e2.id]), now=NOW)
    records.save_record(past, minutes="<p>纪要</p>", decisions="决定", expected=10, present=8, now=NOW)
    problem = factories.problem(e1, status="assigned", department=department, activity=past)
    factories.problem(e2, status="resolved")
    follow_up = FollowUp(problem=problem, activity=visit)
    db.session.add(follow_up)
    token, feed_plain = feeds.create_token(users["organiser"], "模糊测试", organisation=e1, now=NOW)
    db.session.commit()
    ids = {
        "activity_id": [upcoming.id, visit.id],
        "invitation_id": [invited.id],
        "message_id": [db.session.scalar(select(OutboxMessage.id))],
        "problem_id": [problem.id],
        "follow_up_id": [follow_up.id],
        "org_id": [e1.id, e2.id],
        "person_id": [users["contact"].person_id, other_contact.id],
        "user_id": [users["contact"].id],
        "theme_id": [theme.id],
        "venue_id": [venue.id],
        "token_id": [token.id],
        "series_id": [1],
        "photo_id": [1],
        "year": [2026],
        "fmt": ["csv", "xlsx"],
        "action": ["assign", "resolve"],
        "code": ["en", "zh_CN"],
        "filename": ["app.css"],
    }
    tokens = {"rsvp.token": rsvp_plain, "feeds.token": feed_plain}
    return {"ids": ids, "tokens": tokens, "users": {role: u.person.email for role, u in users.items()}}


def url_for_rule(rule, world: dict, variant: int) -> str | None:
    """The rule's URL with real ids (variant 0 or 1 picks among the seeded candidates)."""
    path = rule.rule
    for name in rule.arguments:
        if name == "token":
            value = world["tokens"]["feeds.token" if rule.endpoint.startswith("feeds.") else "rsvp.token"]
        elif name in world["ids"]:
            candidates = world["ids"][name]
            value = candidates[min(variant, len(candidates) - 1)]
        else:
            return None
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", str(value), path)
    return path


def log_in(client, world: dict, role: str | None) -> None:
    """Log out, then in as the demo account of a role (re-enabled if a fuzzed form disabled it)."""
    client.post("/logout")
    if role is None:
        return
    user = db.session.scalar(select(User).join(Person).where(Person.email == world["users"][role]))
    user.active, user.person.active = True, True
    user.set_password(factories.PASSWORD)
    db.session.commit()
    response = client.post("/login", data={"email": world["users"][role], "password": factories.PASSWORD})
    assert response.status_code == 302, (role, response.status_code)


def check(findings: Findings, label: str, response) -> None:
    findings.requests += 1
    if response.status_code >= 500:
        findings.errors.append(f"{response.status_code} {label}")


def fuzz_query(client, findings: Findings, url: str, names: set[str], turn: int) -> None:
    """Every query argument at once with one hostile value (which one rotates with `turn`)."""
    if turn % 4 == 3:
        raw = RAW_QUERY_VALUES[turn % len(RAW_QUERY_VALUES)]
        response = client.get(url + "?" + "&".join(f"{name}={raw}" for name in sorted(names)))
        check(findings, f"GET {url} ?*={raw}", response)
        return
    value = EVERYTHING[turn % len(EVERYTHING)]
    response = client.get(url, query_string=[(name, value) for name in sorted(names)])
    check(findings, f"GET {url} ?*={value[:30]!r}", response)


def submissions(form: Form, budget: int, rng: random.Random) -> list[list[tuple[str, str]]]:
    """Payloads: every field hostile at once (a value of its type), then one field at a time."""
    fields = [(name, kind) for name, kind in form.kinds.items() if kind != "submit"]
    submit = [(name, value) for name, value in form.defaults if form.kinds.get(name) == "submit"]
    payloads = [
        [(name, values_for(kind, name)[turn % len(values_for(kind, name))]) for name, kind in fields] + submit
        for turn in range(min(3, budget))
    ]
    single = [
        [(n, v) for n, v in form.defaults if n != name] + [(name, value)]
        for name, kind in fields
        for value in values_for(kind, name)
    ]
    rng.shuffle(single)
    return payloads + single[: max(budget - len(payloads), 0)]


def fuzz_form(client, findings: Findings, form: Form, budget: int, rng: random.Random) -> None:
    """Submit hostile payloads (and, once, a body of invalid UTF-8); a refused one must not have written anything."""
    payloads = submissions(form, budget, rng)
    if budget > REPEAT_BUDGET:
        payloads.append("&".join(f"{name}=%ff%fe%00%c0%af" for name in form.kinds))
    for payload in payloads:
        if form.method == "get":
            response = client.get(form.action, query_string=payload)
            check(findings, f"GET {form.action} form", response)
            continue
        before = row_counts()
        if isinstance(payload, str):
            response = client.post(form.action, data=payload, content_type="application/x-www-form-urlencoded")
        else:
            response = client.post(form.action, data=MultiDict(payload))
        label = f"POST {form.action} {payload[:80] if isinstance(payload, str) else [(n, v[:20]) for n, v in payload if v][:4]}"
        check(findings, label, response)
        if 400 <= response.status_code < 500:
            after = row_counts()
            if after != before:
                changed = {t: (before.get(t), after[t]) for t in after if after[t] != before.get(t)}
                findings.written.append(f"{response.status_code} {label}: {changed}")


def fuzz_role(client, app, world: dict, role: str | None, seen_forms: set, findings: Findings, rng: random.Random) -> None:
    """Every GET route with hostile query strings, then every form found on the way."""
    log_in(client, world, role)
    forms: dict[tuple, Form] = {}
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    for index, rule in enumerate(rules):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        for variant in (0, 1):
            url = url_for_rule(rule, world, variant)
            if url is None or (variant and url == url_for_rule(rule, world, 0)):
                continue
            response = client.get(url)
            check(findings, f"GET {url} as {role}", response)
            names = set(KNOWN_ARGS)
            if response.status_code == 200 and response.mimetype == "text/html":
                parser = PageParser(url)
                parser.feed(response.get_data(as_text=True))
                names |= parser.arg_names
                for form in parser.forms:
                    names |= set(form.kinds) if form.method == "get" else set()
                    forms.setdefault(form.key(), form)
            if variant == 0:
                fuzz_query(client, findings, url, names, index * 7 + ROLES.index(role) * 3)
    for key, form in forms.items():
        if urlsplit(form.action).path in SKIP_POST:
            continue
        fuzz_form(client, findings, form, REPEAT_BUDGET if key in seen_forms else FORM_BUDGET, rng)
        seen_forms.add(key)
    fuzz_bare_posts(client, app, world, forms, findings)


def fuzz_bare_posts(client, app, world: dict, forms: dict, findings: Findings) -> None:
    """POST-only routes that no page offered a form for: hostile values under every field name seen."""
    offered = {re.sub(r"\d+", "N", urlsplit(f.action).path) for f in forms.values()}
    names = {n for f in forms.values() for n in f.kinds} | {"reason", "answer", "seats", "code", "name"}
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule in SKIP_POST:
            continue
        url = url_for_rule(rule, world, 0)
        if url is None or re.sub(r"\d+", "N", url) in offered:
            continue
        for value in (TEXTS[0], HUGE_INTS[0]):
            before = row_counts()
            response = client.post(url, data={name: value for name in names})
            check(findings, f"POST {url} (bare)", response)
            if 400 <= response.status_code < 500 and row_counts() != before:
                findings.written.append(f"{response.status_code} POST {url} (bare)")


def test_hostile_paths_are_not_found(app, client, login_as):
    login_as("organiser")
    for rule in app.url_map.iter_rules():
        ids = [name for name in rule.arguments if name.endswith("_id") or name == "year"]
        if not ids or "GET" not in rule.methods:
            continue
        for value in PATH_HOSTILE:
            path = rule.rule
            for name in rule.arguments:
                path = re.sub(rf"<(?:[a-z]+:)?{name}>", value if name in ids else "csv", path)
            assert client.get(path).status_code == 404, path


# PostgreSQL only: it is the production database, the strict one (NUL, integer overflow), and one
# run is what the time budget allows (about a minute on two busy cores).
@pytest.mark.parametrize("backend", ["postgresql"])
def test_no_hostile_input_gives_a_server_error_or_half_writes(app, client):
    world = seed()
    findings = Findings()
    seen_forms: set = set()
    rng = random.Random(20260310)
    for role in ROLES:
        fuzz_role(client, app, world, role, seen_forms, findings, rng)
    # About 1,700 requests and 50 distinct forms: fewer means pages or forms were not found.
    assert findings.requests > 1000 and len(seen_forms) > 40, (findings.requests, len(seen_forms))
    assert not findings.errors, "\n".join(findings.errors[:40])
    assert not findings.written, "\n".join(findings.written[:40])

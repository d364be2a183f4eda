"""The demo county's ledger, reproducing the report for the demo year.

The report: 72 problems collected, 38 resolved, loans of 3.67亿元 reaching 88 enterprises, 50
disputes mediated. The county has 85 chain enterprises, so 88 enterprises reached by loans cannot all
be ledger problems of chain enterprises: loans are counted from two sources that never overlap —
loans recorded on a resolved financing problem (6 chain enterprises, 2,700万元) and batches the
banks reported after the matchmaking activities (Outcome rows: 34,000万元 to 82 enterprises,
inside and outside the chains, counted by the banks). Likewise the 50 disputes mediated are 4
dispute problems resolved in the ledger plus 46 cases the mediation committee reported (Outcome).
Every step looks up what exists first, so loading twice adds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.core.clock import display_zone
from app.events.models import Activity, ActivityStatus, VisitKind
from app.extensions import db
from app.orgs.models import Organisation, Person
from app.problems.deadlines import default_deadline
from app.problems.models import (
    FollowUp,
    Outcome,
    OutcomeKind,
    Problem,
    ProblemCategory,
    ProblemStatus,
    ProblemStep,
    Satisfaction,
)

C = ProblemCategory
S = ProblemStatus

DEPARTMENT_FOR = {
    C.tax: "县税务局", C.talent: "县人社局", C.financing: "县金融办", C.export: "县商务局",
    C.it_integration: "县工信局", C.land_permits: "县工信局", C.labour: "县人社局", C.dispute: "县人社局",
    C.other: "县科技局",
}

# (category, what was raised, how it was resolved)
TEMPLATES = [
    (C.tax, "留抵退税申请材料不清楚，退税进度慢", "税务局专人辅导，留抵退税已到账"),
    (C.export, "出口许可证办理需 5–7 个工作日，影响交货", "商务局代办，出口许可 2 个工作日办结"),
    (C.financing, "流动资金紧张，申请信用贷款无抵押物", "金融办对接银行发放信用贷款"),
    (C.talent, "技术骨干高层次人才认定材料不会准备", "人社局上门指导，人才认定已通过"),
    (C.it_integration, "数字化车间改造缺少技术对接", "工信局组织服务商现场对接"),
    (C.labour, "旺季用工缺口 30 人", "人社局组织专场招聘会补足缺口"),
    (C.dispute, "与供应商货款纠纷", "人民调解委员会调解，双方达成还款协议"),
    (C.land_permits, "扩建厂房用地审批流程不清楚", "工信局牵头并联审批"),
    (C.other, "研发费用加计扣除政策咨询", "科技局、税务局现场答复"),
]

# 38 resolved (30 closed out, 8 waiting for feedback), 34 still open or set aside.
STATUSES = [S.closed] * 30 + [S.resolved] * 8 + [S.accepted] * 10 + [S.assigned] * 10 + [S.in_progress] * 10 + [S.returned] * 2 + [S.withdrawn] * 2
LOANS_WAN = [Decimal(v) for v in ("800", "600", "500", "400", "250", "150")]  # 2,700万元 on 6 problems
LOAN_INDICES = (2, 11, 20, 29, 32, 35)  # resolved financing problems that carry the loans
BATCHES = [  # (month, day, amount 万元, enterprises, note)
    (4, 24, Decimal("20000"), 50, "4月融资对接会后各银行报送：信用贷款、应急转贷"),
    (11, 20, Decimal("14000"), 32, "金融惠企政策宣讲后各银行报送：普惠贷款（含链外企业）"),
]
MEDIATION_CASES = [(6, 30, 20, "上半年人民调解委员会调解劳资、合同纠纷"), (12, 20, 26, "下半年人民调解委员会调解劳资、合同纠纷")]


def load_problems(now: datetime, enterprises: list[Organisation], departments: dict[str, Organisation], recorder: Person | None) -> None:
    """Add the demo year's 72 problems and the loan and mediation outcomes (idempotent)."""
    zone = display_zone()
    today = now.astimezone(zone).date()
    year = today.year
    start = datetime(year, 1, 2, 9, 0, tzinfo=zone)
    end = min(now, datetime(year, 12, 31, 17, 0, tzinfo=zone))
    span = max(end - start, timedelta(hours=72))
    activities = list(
        db.session.scalars(
            select(Activity).where(Activity.starts_at >= start, Activity.status != ActivityStatus.cancelled).order_by(Activity.starts_at)
        )
    )
    # Order statuses so that older problems are the resolved ones.
    loans = list(LOANS_WAN)
    disputes_resolved = 0
    for index, status in enumerate(STATUSES):
        category, text, how = _template(index, status, disputes_resolved)
        disputes_resolved += category == C.dispute and status in (S.closed, S.resolved)
        # 7 and 85 are coprime: the first 85 problems go to 85 different enterprises.
        enterprise = enterprises[(index * 7) % len(enterprises)]
        description = f"{text}（{enterprise.short_name or enterprise.name}）"
        if db.session.scalar(select(Problem.id).where(Problem.enterprise_id == enterprise.id, Problem.description == description)):
            continue
        raised_at = (start + span * index / len(STATUSES)).astimezone(UTC)
        problem = Problem(
            enterprise=enterprise, category=category, description=description, status=status,
            activity=next((a for a in reversed(activities) if a.starts_at <= raised_at), None),
            raised_at=raised_at, recorded_by=recorder, created_at=raised_at, updated_at=raised_at,
        )
        _fill_in(problem, index, how, departments[DEPARTMENT_FOR[category]], loans, today)
        db.session.add(problem)
        db.session.add(ProblemStep(problem=problem, at=raised_at, actor=recorder, action="record", to_status=S.accepted))
        if status != S.accepted:
            db.session.add(ProblemStep(problem=problem, at=raised_at, actor=recorder, action="demo", from_status=S.accepted, to_status=status))
    db.session.flush()
    link_follow_up_visits(now)
    for (month, day, amount, count, note) in BATCHES:
        _outcome(OutcomeKind.loan, min(date(year, month, day), today), note, amount_wan=amount, enterprise_count=count, department_id=departments["县金融办"].id)
    for (month, day, cases, note) in MEDIATION_CASES:
        _outcome(OutcomeKind.mediation, min(date(year, month, day), today), note, cases=cases)
    db.session.flush()


def _template(index: int, status: ProblemStatus, disputes_resolved: int) -> tuple[ProblemCategory, str, str]:
    """What problem number `index` is about: only 4 disputes are resolved, and the resolved
    problems at LOAN_INDICES are financing ones (they carry the loans)."""
    category, text, how = TEMPLATES[index % len(TEMPLATES)]
    resolved = status in (S.closed, S.resolved)
    if category == C.dispute and resolved and disputes_resolved == 4:
        return TEMPLATES[0]
    if resolved and index in LOAN_INDICES:
        return TEMPLATES[2]
    return category, text, how


def _fill_in(problem: Problem, index: int, how: str, department: Organisation, loans: list[Decimal], today: date) -> None:
    """The department, deadline, resolution and satisfaction that go with the problem's status."""
    zone = display_zone()
    status, category = problem.status, problem.category
    raised_day = problem.raised_at.astimezone(zone).date()
    on_site = status in (S.closed, S.resolved) and index % 3 == 0
    if status != S.accepted and not on_site:
        problem.department = department
        problem.deadline = default_deadline(category, raised_day)
    if status in (S.closed, S.resolved):
        problem.resolution = how
        problem.resolved_on_site = on_site
        problem.resolved_on = raised_day if on_site else min(raised_day + timedelta(days=4 + index % 5), today)
        if category == C.financing and loans:
            problem.loan_amount_wan = loans.pop(0)
        if category == C.export:
            problem.days_before, problem.days_after = 6, 2
    if status == S.closed:
        problem.satisfaction = Satisfaction.satisfied if index % 4 else Satisfaction.basically
        problem.closed_at = datetime.combine(problem.resolved_on, time(16, 0), tzinfo=zone)


def link_follow_up_visits(now: datetime) -> int:
    """Tie the demo's follow-up visits (回访) to a problem of the visited enterprise that a department
    took before the visit, so they show in that department's calendar feed (idempotent)."""
    linked = set(db.session.scalars(select(FollowUp.activity_id)))
    followed = set(db.session.scalars(select(FollowUp.problem_id)))
    visits = db.session.scalars(
        select(Activity)
        .where(Activity.visit_kind == VisitKind.follow_up, Activity.site_id.is_not(None), Activity.status != ActivityStatus.cancelled)
        .order_by(Activity.starts_at, Activity.id)
    )
    added = 0
    for visit in visits:
        if visit.id in linked:
            continue
        problem = db.session.scalar(
            select(Problem)
            .where(
                Problem.enterprise_id == visit.site_id, Problem.department_id.is_not(None),
                Problem.raised_at < visit.starts_at, Problem.id.not_in(followed or {0}),
            )
            .order_by(Problem.raised_at.desc(), Problem.id)
            .limit(1)
        )
        if problem is None:
            continue
        done = visit.ends_at <= now and problem.status in (S.resolved, S.closed)
        db.session.add(FollowUp(problem=problem, activity=visit, outcome="企业反映诉求已落实。" if done else None,
                                recorded_at=visit.ends_at if done else None))
        followed.add(problem.id)
        added += 1
    db.session.flush()
    return added


def _outcome(kind: OutcomeKind, recorded_on: date, note: str, **fields) -> None:
    if db.session.scalar(select(Outcome.id).where(Outcome.kind == kind, Outcome.note == note)) is None:
        db.session.add(Outcome(kind=kind, recorded_on=recorded_on, note=note, **fields))

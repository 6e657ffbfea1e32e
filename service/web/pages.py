"""Pages for people, server-rendered by the same app (Jinja2 templates, no front-end build, no
JavaScript needed): the teacher's planning page, printable worksheets, the head teacher's evening,
weekly notice, burden chart and allocations, and the student's (or parent's) evening.

Every page calls the same functions as API v1 with the signed-in account, so the same role and
object checks, the same verifier and the same ledger stand behind both; a refusal (a problem
detail) is shown on the page in the reader's language.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select

from service.api.deps import Services, require, see_class, see_student
from service.api.problems import Problem
from service.api.v1 import school, student, teacher
from service.api.v1.schemas import (
    AllocationIn,
    AttemptBatch,
    AttemptIn,
    EditRequest,
    ExemptionIn,
    PlanRequest,
    ProgressIn,
    PublishClass,
)
from service.auth import AuthError, Principal
from service.store import tables as t
from service.store.queries import HANDED_OUT, SETS_ITEMS
from service.web import i18n
from service.web.session import (
    LANG_COOKIE,
    BadForm,
    SignInRequired,
    check_form,
    csrf_token,
    sign_in,
    sign_out,
    signed_in,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
T = TypeVar("T")
DONE = ("saved", "published_n", "excused")
HOME = {"teacher": "/teacher", "head_teacher": "/school/evening", "school_admin": "/school/evening",
        "student": "/student", "parent": "/student", "data_team": "/docs"}  # fmt: skip


def _services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _posted(request: Request, csrf: str) -> tuple[Services, Principal]:
    """A form posted to this site by the signed-in account (its CSRF token checked first)."""
    svc = _services(request)
    check_form(svc, request, csrf)
    return svc, signed_in(svc, request)


def _lang(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE, "zh")
    return chosen if chosen in i18n.LANGS else "zh"


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    svc, lang = _services(request), _lang(request)
    who = context.pop("who", None)
    done = request.query_params.get("done")
    if done in DONE:  # what the last action did, by its code (never text from the address)
        count = request.query_params.get("n", "0")
        context["message"] = i18n.word(lang, done, n=int(count) if count.isascii() and count.isdigit() else 0)
    page = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "html_lang": i18n.HTML_LANG[lang],
            "w": lambda key, **v: i18n.word(lang, key, **v),
            "subject_name": lambda s: i18n.subject_name(lang, s),
            "kind_name": lambda k: i18n.kind_name(lang, k),
            "tier_name": lambda x: i18n.tier_name(lang, x),
            "status_name": lambda x: i18n.status_name(lang, x),
            "error_name": lambda e: i18n.error_name(lang, e),
            "weekdays": [zh if lang == "zh" else en for zh, en in i18n.WEEKDAYS],
            "who": who,
            "csrf": csrf_token(svc, request),
            "path": _here(request),
            **context,
        },
        status_code=status,
    )
    if request.query_params.get("lang") in i18n.LANGS:
        page.set_cookie(LANG_COOKIE, request.query_params["lang"], max_age=365 * 86400, samesite="lax")
    return page


def _here(request: Request) -> str:
    """This page's address without its language switch (the switch adds its own)."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "lang"])
    return request.url.path + (f"?{query}" if query else "")


def _problem_text(lang: str, problem: Problem) -> tuple[str, list[dict[str, Any]]]:
    violations: list[dict[str, Any]] = problem.extra.get("violations") or []
    if lang == "zh" and problem.extra.get("detail_zh"):
        return str(problem.extra["detail_zh"]), violations
    return problem.detail, violations


def _try(request: Request, call: Callable[[], T]) -> T | HTMLResponse:
    """Run an API function; a refusal becomes an error page in the reader's language."""
    try:
        return call()
    except Problem as problem:
        text, violations = _problem_text(_lang(request), problem)
        return _render(request, "error.html", status=problem.status, problem=text, violations=violations)
    except ValidationError as exc:  # a form value the API's schema refuses (too long, unknown subject)
        wrong = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _render(request, "error.html", status=422, problem=wrong, violations=[])


class BadDate(ValueError):
    """A date in a page's address or form that is not one (shown as an error page, 422)."""


def _on(value: str | None, default: date | None = None) -> date:
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise BadDate(f"not a date: {value!r} (write it as 2026-11-10)") from None
    return default or datetime.now(UTC).date()


def install(app: Any) -> None:
    from fastapi.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def to_login(request: Request, _: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(_here(request), safe='')}", status_code=303)

    @app.exception_handler(BadDate)
    async def bad_date(request: Request, exc: BadDate) -> Response:
        return _render(request, "error.html", status=422, problem=str(exc), violations=[])

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, _: BadForm) -> Response:
        return _render(request, "error.html", status=403, problem=i18n.word(_lang(request), "forbidden_form"),
                       violations=[])  # fmt: skip


# --- signing in ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    who = signed_in(_services(request), request)
    return RedirectResponse(HOME[who.role], status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return _render(request, "login.html", next=next if next.startswith("/") else "/", failed=False)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")
) -> Response:
    svc = _services(request)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    try:
        who = sign_in(svc, response, username, password)
    except AuthError:
        return _render(request, "login.html", status=401, next=target, failed=True, username=username)
    if target == "/":
        response.headers["location"] = HOME[who.role]
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    check_form(_services(request), request, csrf)
    response = RedirectResponse("/login", status_code=303)
    sign_out(response)
    return response


# --- the teacher --------------------------------------------------------------------------------


@router.get("/teacher", response_class=HTMLResponse)
def teacher_page(request: Request, class_id: str = "", subject: str = "", night: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    choices = sorted((c, s) for c, subjects in who.classes.items() for s in subjects if s)

    def load() -> dict[str, Any]:
        require(who, "teacher")
        chosen, chosen_subject = (class_id, subject) if class_id else (choices[0] if choices else ("", ""))
        on = _on(night)
        found: dict[str, Any] = {"class_id": chosen, "subject": chosen_subject, "night": on, "points": [],
                                 "sets": None}  # fmt: skip
        if chosen and chosen_subject:
            facts = see_class(svc, who, chosen, subject=chosen_subject)
            found["points"] = _points(svc, chosen, facts.grade, chosen_subject, on)
            found["sets"] = _class_sets(svc, who, chosen, chosen_subject, on)
        return found

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "teacher.html", who=who, choices=choices,
                   **found)  # fmt: skip


def _points(svc: Services, class_id: str, grade: int, subject: str, night: date) -> list[dict[str, Any]]:
    """The subject's knowledge points of the class's grade, in syllabus order, each marked if taught."""
    with svc.engine.connect() as conn:
        taught = dict(
            conn.execute(
                select(t.teaching_progress.c.kp_id, t.teaching_progress.c.taught_on).where(
                    t.teaching_progress.c.class_id == class_id, t.teaching_progress.c.subject == subject
                )
            ).all()
        )
        rows = conn.execute(
            select(t.knowledge_points.c.kp_id, t.knowledge_points.c.name)
            .where(t.knowledge_points.c.subject == subject, t.knowledge_points.c.grade == grade)
            .order_by(t.knowledge_points.c.unit, t.knowledge_points.c.order)
        ).all()
    return [
        {"kp_id": r.kp_id, "name": r.name, "taught": r.kp_id in taught and taught[r.kp_id] <= night,
         "today": taught.get(r.kp_id) == night}
        for r in rows
    ]  # fmt: skip


@router.post("/teacher/plan", response_class=HTMLResponse)
def teacher_plan(
    request: Request,
    class_id: str = Form(),
    subject: str = Form(),
    night: str = Form(),
    kps: list[str] = Form(default_factory=list),
    csrf: str = Form(""),
) -> Response:
    svc, who = _posted(request, csrf)

    def plan() -> None:
        on = _on(night)
        request_ = PlanRequest(subject=subject, night=on, focus_kps=kps)  # refused before anything is written
        if kps:  # what was taught today opens those points for tonight (C1/C2 check them)
            teacher.progress(class_id, ProgressIn(subject=subject, points={kp: on for kp in kps}), who, svc)
        teacher.plan(class_id, request_, who, svc)

    done = _try(request, plan)
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse(f"/teacher?class_id={class_id}&subject={subject}&night={night}", status_code=303)


def _class_sets(svc: Services, who: Principal, class_id: str, subject: str, night: date) -> dict[str, Any]:
    """One row per student: the set (basic and extension), minutes, reasons, mastery levels of its
    points, and the whole evening across subjects against the cap."""
    with svc.engine.connect() as conn:
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.display_name)
            .where(t.students.c.class_id == class_id)
            .order_by(t.students.c.student_id)  # pseudonymous order: says nothing about anyone (R5)
        ).all()
        plans = conn.execute(
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.status, t.plans.c.typical_minutes,
                   t.plans.c.conservative_minutes, t.plans.c.model_version)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.students.c.class_id == class_id, t.plans.c.subject == subject, t.plans.c.night == night,
                   t.plans.c.status.in_(SETS_ITEMS))
        ).all()  # fmt: skip
        items = conn.execute(
            select(t.plan_items.c.plan_id, t.plan_items.c.item_id, t.plan_items.c.tier,
                   t.plan_items.c.typical_minutes, t.plan_items.c.reason_zh, t.plan_items.c.reason_en,
                   t.plan_items.c.position, t.items.c.kind, t.items.c.stem, t.item_kps.c.kp_id)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .join(t.item_kps, (t.item_kps.c.item_id == t.items.c.item_id) & (t.item_kps.c.position == 0))
            .where(t.plan_items.c.plan_id.in_([p.plan_id for p in plans]))
            .order_by(t.plan_items.c.position)
        ).all()  # fmt: skip
    by_plan: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        by_plan[item.plan_id].append(item)
    evening = {s.student_id: s for s in school.evening_of_class(svc, class_id, night).students}
    levels: dict[str, dict[str, str]] = {}
    if plans:
        mastery = teacher.mastery(class_id, who, svc, subject=subject, night=night)
        levels = {s.student_id: s.levels for s in mastery.levels}
    rows = []
    plan_of = {p.student_id: p for p in plans}
    for s in students:
        p = plan_of.get(s.student_id)
        its = by_plan.get(p.plan_id, []) if p else []
        e = evening.get(s.student_id)
        cap = (e.cap_minutes if e else None) or 0.0
        held = e.reserved_minutes if e else {}
        rows.append({
            "student_id": s.student_id, "name": s.display_name or s.student_id, "plan": p,
            "basic": [i for i in its if i.tier == "basic"], "extension": [i for i in its if i.tier == "extension"],
            "levels": {i.kp_id: levels.get(s.student_id, {}).get(i.kp_id, "-") for i in its},
            "cap": cap, "held": held, "exempt": bool(e and e.exempt),
            "bar": [{"subject": sub, "minutes": m, "percent": round(100 * m / cap, 1) if cap else 0}
                    for sub, m in sorted(held.items())],
        })  # fmt: skip
    drafts = sum(1 for p in plans if p.status == "draft")
    version = next((p.model_version for p in plans if p.model_version), None)
    return {"rows": rows, "drafts": drafts, "published": sum(1 for p in plans if p.status == "published"),
            "model_version": version}  # fmt: skip


@router.post("/teacher/publish", response_class=HTMLResponse)
def teacher_publish(
    request: Request, class_id: str = Form(), subject: str = Form(), night: str = Form(), csrf: str = Form("")
) -> Response:
    svc, who = _posted(request, csrf)
    done = _try(request, lambda: teacher.publish_class(class_id, PublishClass(subject=subject, night=_on(night)),
                                                        who, svc))  # fmt: skip
    if isinstance(done, HTMLResponse):
        return done
    n = len(done.published)
    return RedirectResponse(f"/teacher?class_id={class_id}&subject={subject}&night={night}&done=published_n&n={n}",
                            status_code=303)  # fmt: skip


def _plan_for_edit(svc: Services, who: Principal, plan_id: str) -> dict[str, Any]:
    with svc.engine.connect() as conn:
        plan = conn.execute(
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.subject, t.plans.c.night, t.plans.c.status,
                   t.students.c.class_id, t.students.c.display_name)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.plans.c.plan_id == plan_id)
        ).first()  # fmt: skip
        if plan is None or not who.teaches(plan.class_id, plan.subject) or who.role != "teacher":
            raise Problem(404, f"no plan {plan_id} among those this account may see", kind="not-found")
        items = conn.execute(
            select(t.plan_items.c.item_id, t.plan_items.c.tier, t.plan_items.c.typical_minutes,
                   t.items.c.kind, t.items.c.stem)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .where(t.plan_items.c.plan_id == plan_id)
            .order_by(t.plan_items.c.position)
        ).all()  # fmt: skip
    return {"plan": plan, "items": items}


@router.get("/teacher/plans/{plan_id}/edit", response_class=HTMLResponse)
def edit_page(request: Request, plan_id: str) -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    found = _try(request, lambda: _plan_for_edit(svc, who, plan_id))
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "edit.html", who=who, violations=[], added="", **found)


@router.post("/teacher/plans/{plan_id}/edit", response_class=HTMLResponse)
async def edit_save(request: Request, plan_id: str) -> Response:
    form = await request.form()
    svc, who = _posted(request, str(form.get("csrf", "")))
    found = _try(request, lambda: _plan_for_edit(svc, who, plan_id))
    if isinstance(found, HTMLResponse):
        return found
    keep = set(form.getlist("keep"))
    lines = [{"item_id": i.item_id, "tier": str(form.get(f"tier-{i.item_id}", i.tier))}
             for i in found["items"] if i.item_id in keep]  # fmt: skip
    added = str(form.get("add", ""))
    lines += [{"item_id": x.strip(), "tier": "basic"} for x in added.split() if x.strip()]
    try:
        body = EditRequest.model_validate({"items": lines})
        teacher.edit(plan_id, body, who, svc)
    except Problem as problem:
        text, violations = _problem_text(_lang(request), problem)
        return _render(request, "edit.html", status=problem.status, who=who, problem=text, violations=violations,
                       added=added, **_plan_for_edit(svc, who, plan_id))  # fmt: skip
    except ValueError as exc:  # the form itself is wrong (no items, an id too long)
        return _render(request, "edit.html", status=422, who=who, problem=str(exc), violations=[], added=added,
                       **found)  # fmt: skip
    p = found["plan"]
    return RedirectResponse(f"/teacher?class_id={p.class_id}&subject={p.subject}&night={p.night}&done=saved",
                            status_code=303)  # fmt: skip


# --- worksheets ---------------------------------------------------------------------------------


def sheet_layout(items: list[dict[str, Any]]) -> tuple[float, float]:
    """(millimetres of answer space under each written item, text scale) so that one student's
    evening fits on one A4 page: about 200 mm between the heading and the time box, an item's text
    about 14 mm at full size. Answer space shrinks first (28 mm down to 6), then the text."""
    writing = sum(1 for i in items if i["kind"] in ("written", "practical"))
    text = 14.0 * len(items)
    room = 28.0 if not writing else max(6.0, min(28.0, (200.0 - text) / writing))
    scale = 1.0 if not items else max(0.6, min(1.0, (200.0 - writing * room) / text))
    return round(room if writing else 0.0, 1), round(scale, 2)


def _worksheets(
    svc: Services, who: Principal, class_id: str, subject: str, night: date, student_id: str | None
) -> dict[str, Any]:
    """Published sets to print: one page per student (the whole class, or one student)."""
    if student_id:
        see_student(svc, who, student_id)
    else:
        see_class(svc, who, class_id, subject=subject if who.role == "teacher" else None)
        if who.role not in ("teacher", "head_teacher", "school_admin"):
            raise Problem(403, "whole-class worksheets are for the class's teachers", kind="forbidden")
    with svc.engine.connect() as conn:
        query = (
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.typical_minutes, t.students.c.display_name,
                   t.classes.c.name.label("class_name"), t.plans.c.subject)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
            .where(t.plans.c.night == night, t.plans.c.status.in_(HANDED_OUT))
            .order_by(t.plans.c.student_id, t.plans.c.subject)
        )  # fmt: skip
        query = query.where(t.plans.c.student_id == student_id) if student_id else query.where(
            t.students.c.class_id == class_id, t.plans.c.subject == subject)  # fmt: skip
        plans = conn.execute(query).all()
        items = conn.execute(
            select(t.plan_items.c.plan_id, t.plan_items.c.item_id, t.plan_items.c.tier,
                   t.plan_items.c.typical_minutes, t.items.c.kind, t.items.c.stem, t.items.c.needs_parent)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .where(t.plan_items.c.plan_id.in_([p.plan_id for p in plans]))
            .order_by(t.plan_items.c.tier, t.plan_items.c.position)
        ).all()  # fmt: skip
    by_plan: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        by_plan[item.plan_id].append(item)
    pages: dict[str, dict[str, Any]] = {}
    for p in plans:
        page = pages.setdefault(p.student_id, {"name": p.display_name or p.student_id, "class_name": p.class_name,
                                               "student_id": p.student_id, "items": [], "minutes": 0.0})  # fmt: skip
        page["items"] += [{"subject": p.subject, **i._asdict()} for i in by_plan[p.plan_id]]
        page["minutes"] += p.typical_minutes
    for page in pages.values():
        page["answer_mm"], page["scale"] = sheet_layout(page["items"])
    return {"pages": list(pages.values()), "night": night, "subject": subject, "class_id": class_id,
            "student_id": student_id}  # fmt: skip


@router.get("/worksheets", response_class=HTMLResponse)
def worksheets(
    request: Request, class_id: str = "", subject: str = "", night: str = "", student_id: str = ""
) -> Response:
    found = _sheets(request, class_id, subject, night, student_id)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "worksheets.html", **found)


@router.get("/worksheets.pdf")
def worksheets_pdf(
    request: Request, class_id: str = "", subject: str = "", night: str = "", student_id: str = ""
) -> Response:
    from service.web.pdf import worksheets_pdf as render_pdf

    found = _sheets(request, class_id, subject, night, student_id)
    if isinstance(found, HTMLResponse):
        return found
    settings = _services(request).settings
    lang = _lang(request)
    pdf = _try(request, lambda: render_pdf(found, lang, settings.pdf_font, settings.pdf_cjk_font))
    if isinstance(pdf, HTMLResponse):
        return pdf
    name = f"worksheets-{student_id or class_id}-{night}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _sheets(
    request: Request, class_id: str, subject: str, night: str, student_id: str
) -> dict[str, Any] | HTMLResponse:
    svc = _services(request)
    who = signed_in(svc, request)
    found = _try(request, lambda: _worksheets(svc, who, class_id, subject, _on(night), student_id or None))
    return found if isinstance(found, HTMLResponse) else {**found, "who": who}


# --- the student (and the parent) ----------------------------------------------------------------


def _child(who: Principal, request: Request) -> str:
    wanted = request.query_params.get("student_id")
    mine = sorted(who.students)
    if not mine:
        raise Problem(403, "this page is for a student or a parent", kind="forbidden")
    return wanted if wanted in who.students else mine[0]


@router.get("/student", response_class=HTMLResponse)
def student_page(request: Request, night: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> dict[str, Any]:
        sid = _child(who, request)
        on = _on(night)
        tonight = student._tonight(svc, who, sid, on, None)
        book = student.error_book(sid, who, svc, include_resolved=False)
        with svc.engine.connect() as conn:
            stems = dict(conn.execute(select(t.items.c.item_id, t.items.c.stem).where(
                t.items.c.item_id.in_([i.item_id for i in tonight.items] + [e.item_id for e in book]))).all())  # fmt: skip
            exempt = conn.execute(select(t.exemptions.c.student_id).where(
                t.exemptions.c.student_id == sid, t.exemptions.c.night == on)).first() is not None  # fmt: skip
        return {"tonight": tonight, "book": book, "stems": stems, "student_id": sid, "night": on,
                "exempt": exempt, "children": sorted(who.students), "event": uuid.uuid4().hex}  # fmt: skip

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "student.html", who=who, **found)


@router.post("/student/answer", response_class=HTMLResponse)
def student_answer(
    request: Request,
    student_id: str = Form(),
    night: str = Form(),
    item_id: str = Form(),
    event_id: str = Form(),
    minutes: float = Form(gt=0, le=360),
    correct: str = Form(),
    csrf: str = Form(""),
) -> Response:
    svc, who = _posted(request, csrf)

    def answer() -> Any:
        one = AttemptIn(event_id=event_id, item_id=item_id, night=_on(night), submitted_at=datetime.now(UTC),
                        correct=correct == "1", seconds=max(1, round(minutes * 60)), source="app")  # fmt: skip
        return student.attempts(student_id, AttemptBatch(attempts=[one]), who, svc)

    done = _try(request, answer)
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse(f"/student?student_id={student_id}&night={night}", status_code=303)


@router.post("/student/excuse", response_class=HTMLResponse)
def student_excuse(
    request: Request, student_id: str = Form(), night: str = Form(), csrf: str = Form("")
) -> Response:
    svc, who = _posted(request, csrf)
    done = _try(request, lambda: student.exemption(student_id, ExemptionIn(night=_on(night)), who, svc))
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse(f"/student?student_id={student_id}&night={night}&done=excused", status_code=303)


# --- the head teacher and the school ------------------------------------------------------------


def _class_choice(svc: Services, who: Principal, class_id: str) -> str:
    """The class asked for, else the first this account may see: taught or headed, of the school it
    runs, or its child's."""
    if class_id or who.classes:
        return class_id or sorted(who.classes)[0]
    with svc.engine.connect() as conn:
        if who.schools:
            query = select(t.classes.c.class_id).where(t.classes.c.school_id.in_(sorted(who.schools)))
        else:
            query = select(t.students.c.class_id).where(t.students.c.student_id.in_(sorted(who.students)))
        found = conn.execute(query.order_by(query.selected_columns[0]).limit(1)).scalar()
    return found or ""


@router.get("/school/evening", response_class=HTMLResponse)
def evening_page(request: Request, class_id: str = "", night: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    class_id = _class_choice(svc, who, class_id)
    on = _on(night)
    found = _try(request, lambda: school.class_evening(class_id, on, who, svc))
    if isinstance(found, HTMLResponse):
        return found
    rows = []
    for s in found.students:
        cap = s.cap_minutes or 0.0
        total = round(sum(s.reserved_minutes.values()), 1)
        rows.append({"s": s, "cap": cap, "total": total,
                     "bar": [{"subject": k, "minutes": m, "percent": round(100 * m / cap, 1) if cap else 0}
                             for k, m in sorted(s.reserved_minutes.items())]})  # fmt: skip
    return _render(request, "evening.html", who=who, class_id=class_id, night=on, rows=rows,
                   classes=sorted(who.classes))  # fmt: skip


@router.get("/school/notice", response_class=HTMLResponse)
def notice_page(request: Request, class_id: str = "", week_of: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    class_id = _class_choice(svc, who, class_id)
    found = _try(request, lambda: school.notice(class_id, who, svc, week_of=_on(week_of)))
    if isinstance(found, HTMLResponse):
        return found
    subjects = sorted({s for d in found.days for s in d.subjects})
    return _render(request, "notice.html", who=who, notice=found, subjects=subjects, class_id=class_id)


@router.get("/school/burden", response_class=HTMLResponse)
def burden_page(request: Request, class_id: str = "", start: str = "", end: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    class_id = _class_choice(svc, who, class_id)
    last = _on(end)
    first = _on(start, max(last, date(1, 1, 14)) - timedelta(days=13))
    found = _try(request, lambda: school.burden(class_id, who, svc, start=first, end=last))
    if isinstance(found, HTMLResponse):
        return found
    days = [d for d in found.days if d.estimated_minutes or d.reports]
    top = max([d.cap_minutes for d in days] + [d.estimated_minutes for d in days]
              + [d.reported_minutes or 0 for d in days] + [1.0])  # fmt: skip
    return _render(request, "burden.html", who=who, burden=found, days=days, top=top * 1.1, class_id=class_id,
                   start=first, end=last)  # fmt: skip


@router.get("/school/allocations", response_class=HTMLResponse)
def allocations_page(request: Request, class_id: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    class_id = _class_choice(svc, who, class_id)
    found = _try(request, lambda: _allocations(svc, who, class_id))
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "allocations.html", who=who, class_id=class_id,
                   **found)  # fmt: skip


def _allocations(svc: Services, who: Principal, class_id: str) -> dict[str, Any]:
    current = school.allocations(class_id, who, svc)
    with svc.engine.connect() as conn:
        subjects = sorted(conn.execute(select(t.class_subjects.c.subject).where(
            t.class_subjects.c.class_id == class_id)).scalars())  # fmt: skip
    return {"subjects": subjects, "weekdays_set": {int(k): v for k, v in current.weekdays.items()}}


@router.post("/school/allocations", response_class=HTMLResponse)
async def allocations_save(request: Request) -> Response:
    form = await request.form()
    svc, who = _posted(request, str(form.get("csrf", "")))
    class_id, day = str(form.get("class_id", "")), str(form.get("weekday", ""))
    if not (day.isascii() and day.isdigit()):
        return _render(request, "error.html", status=422, problem=f"weekday: {day!r}", violations=[])
    weekday = int(day)
    weights = {}
    for key, value in form.items():
        if key.startswith("w-") and str(value).strip():
            try:
                weights[key[2:]] = float(str(value))
            except ValueError:
                return _render(
                    request, "error.html", status=422, problem=f"{key[2:]}: {value!r}", violations=[]
                )
    weights = {k: v for k, v in weights.items() if v > 0}

    def save() -> Any:
        return school.put_allocation(class_id, AllocationIn(weights=weights), who, svc, weekday=weekday)

    try:
        done = _try(request, save)
    except ValueError as exc:
        return _render(request, "error.html", status=422, problem=str(exc), violations=[])
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse(f"/school/allocations?class_id={class_id}&done=saved", status_code=303)

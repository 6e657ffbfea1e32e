"""Pages for people, server-rendered by the same app (Jinja2 templates, no front-end build, no
JavaScript needed): the teacher's planning page, printable worksheets, the head teacher's evening,
weekly notice, burden chart and allocations, and the student's (or parent's) evening.

Every page checks the signed-in account with service.access and calls the same domain functions as
API v1 (service.plans, service.evenings, service.records), so the same role and object checks, the
same verifier and the same ledger stand behind both; a refusal (a service.errors exception) is
shown on the page in the reader's language. The pages that plan or read the model (the teacher's
page with its mastery levels, planning, saving an edit) run that work in the same planning pool as
the API (service.pool), refused at once with 429 when the account or the pool has its share.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from models.schema import ITEM_KINDS
from service import access, evenings, plans, records
from service.access import COORDINATORS, STAFF
from service.api.problems import STATUS, Problem
from service.auth import AuthError, Principal, TooManySignIns
from service.errors import Busy, DomainError, Invalid
from service.plans import shown
from service.runtime import Services
from service.schemas import AllocationIn, AttemptIn, EditRequest, PlanRequest
from service.web import i18n
from service.web.session import (
    LANG_COOKIE,
    BadForm,
    SignInRequired,
    check_form,
    check_login_form,
    csrf_token,
    keep_login_form_token,
    keep_session,
    login_form_token,
    sign_in,
    sign_out,
    signed_in,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# Maths written in plain ASCII by an item's author, shown with proper symbols (no script, no CDN).
MATHS = (("<=", "≤"), (">=", "≥"), ("!=", "≠"), ("*", "×"), ("^2", "²"), ("^3", "³"), ("sqrt", "√"),
         ("...", "…"))  # fmt: skip


def legible(text: str) -> str:
    """An item's text with its maths in proper symbols (3*4 -> 3×4, x^2 -> x², <= -> ≤)."""
    for ascii_form, symbol in MATHS:
        text = text.replace(ascii_form, symbol)
    return text


templates.env.filters["maths"] = legible
templates.env.filters["mins"] = shown  # minutes as every page and message writes them
router = APIRouter(include_in_schema=False)
T = TypeVar("T")
DONE = (
    "saved",
    "published_n",
    "excused",
    "reloaded",
    "graded_right",
    "graded_wrong",
    "excuse_undone",
    "stopped",
)
HOME = {"teacher": "/teacher", "head_teacher": "/school/evening", "school_admin": "/school/evening",
        "student": "/student", "parent": "/student", "data_team": "/data", "district": "/district"}  # fmt: skip


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
            # a class as the school writes it (五年级1班), never its id, on every page that names one
            "class_name": lambda c: plans.class_names(db=svc.engine, class_ids=[c])[c],
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


def _refusal(lang: str, exc: DomainError | Problem) -> tuple[int, str, list[dict[str, Any]]]:
    """(status, text in the reader's language, the rules a set breaks) of a refusal."""
    if isinstance(exc, DomainError):
        violations: list[dict[str, Any]] = exc.extra.get("violations") or []
        return STATUS[exc.kind], exc.zh if lang == "zh" else exc.en, violations
    if lang == "zh" and exc.extra.get("detail_zh"):
        return exc.status, str(exc.extra["detail_zh"]), []
    return exc.status, exc.detail, []


def _refused(request: Request, exc: DomainError | Problem) -> HTMLResponse:
    """A refusal as an error page in the reader's language (with when to try again, if it says)."""
    status, text, violations = _refusal(_lang(request), exc)
    page = _render(request, "error.html", status=status, problem=text, violations=violations)
    if "retry_after" in exc.extra:
        page.headers["Retry-After"] = str(exc.extra["retry_after"])
    return page


def _try(request: Request, call: Callable[[], T]) -> T | HTMLResponse:
    """Run a domain function; a refusal becomes an error page in the reader's language."""
    try:
        return call()
    except (DomainError, Problem) as exc:
        return _refused(request, exc)
    except ValidationError as exc:  # a form value the API's schema refuses (too long, unknown subject)
        wrong = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _render(request, "error.html", status=422, problem=wrong, violations=[])


async def _planning(
    request: Request, who: Principal, fn: Callable[..., T], /, **kwargs: Any
) -> T | HTMLResponse:
    """A planning function in the planning pool (a plan, mastery levels: the API's pool, the API's
    limits); a refusal becomes an error page, past the account's or the pool's share a 429 page at once."""
    try:
        return await _services(request).planning.run(who.user_id, fn, **kwargs)
    except (DomainError, Problem) as exc:
        return _refused(request, exc)


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

    from service.web.data_pages import router as data_router
    from service.web.district_pages import router as district_router
    from service.web.review_pages import router as review_router

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(data_router)
    app.include_router(district_router)
    app.include_router(review_router)
    from service.web.scan_pages import router as scan_router

    app.include_router(scan_router)

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
    return _login_form(request, 200, next if next.startswith("/") else "/")


def _login_form(request: Request, status: int, target: str, **context: Any) -> HTMLResponse:
    """The sign-in page, with the form's own CSRF token (kept in its SameSite=Strict cookie)."""
    token = login_form_token(request)
    page = _render(request, "login.html", status=status, next=target, login_csrf=token, **context)
    keep_login_form_token(_services(request), page, token)
    return page


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
    csrf: str = Form(""),
) -> Response:
    # Async: the sign-in's work runs in the sign-in pool's own threads, not the server's.
    svc, lang = _services(request), _lang(request)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    try:
        check_login_form(request, csrf)  # before anything else: a form from another site signs nobody in
    except BadForm:
        return _login_form(request, 403, target, problem=i18n.word(lang, "login_form_refused"))
    try:
        done = await sign_in(svc, request, username, password)
    except TooManySignIns as exc:
        page = _login_form(request, 429, target, username=username,
                           problem=i18n.word(lang, "too_many_sign_ins", n=exc.retry_after))  # fmt: skip
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except AuthError:
        return _login_form(request, 401, target, username=username, problem=i18n.word(lang, "wrong_password"))
    response = RedirectResponse(HOME[done.role] if target == "/" else target, status_code=303)
    keep_session(svc, response, done)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    svc = _services(request)
    check_form(svc, request, csrf)
    response = RedirectResponse("/login", status_code=303)
    sign_out(svc, request, response)  # the session ends for every copy of the cookie, on every replica
    return response


# --- the teacher --------------------------------------------------------------------------------


@router.get("/teacher", response_class=HTMLResponse)
async def teacher_page(request: Request, class_id: str = "", subject: str = "", night: str = "") -> Response:
    svc = _services(request)
    who = await run_in_threadpool(signed_in, svc, request)
    choices = sorted((c, s) for c, subjects in who.classes.items() for s in subjects if s)

    def load() -> dict[str, Any]:
        access.require(who, "teacher")
        chosen, chosen_subject = (class_id, subject) if class_id else (choices[0] if choices else ("", ""))
        on = _on(night)
        found: dict[str, Any] = {"class_id": chosen, "subject": chosen_subject, "night": on, "points": [],
                                 "preview": None, "no_time": [],
                                 "class_names": plans.class_names(db=svc.engine, class_ids=[c for c, _ in choices])}  # fmt: skip
        if not (chosen and chosen_subject):
            return found
        klass = access.see_class(svc.engine, who, chosen, subject=chosen_subject)
        found["points"] = plans.class_points(db=svc.engine, class_id=chosen, grade=klass.grade,
                                             subject=chosen_subject, night=on)  # fmt: skip
        preview = plans.class_preview(db=svc.engine, book=svc.book, class_id=chosen, subject=chosen_subject,
                                      night=on)  # fmt: skip
        found["no_time"] = evenings.no_time(  # no silent empty rows: who gets nothing tonight, and why
            db=svc.engine, book=svc.book, class_id=chosen, subject=chosen_subject, night=on,
            students=[r.student_id for r in preview.rows if not r.sets and not r.exempt],
        )  # fmt: skip
        found["preview"] = preview
        return found

    found = await run_in_threadpool(_try, request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "teacher.html", who=who, choices=choices, **found)


@router.post("/teacher/plan", response_class=HTMLResponse)
async def teacher_plan(
    request: Request,
    class_id: str = Form(),
    subject: str = Form(),
    night: str = Form(),
    kps: list[str] = Form(default_factory=list),
    replan: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    svc, who = await run_in_threadpool(_posted, request, csrf)

    def ready() -> PlanRequest:
        # refused before anything is written
        asked = PlanRequest.model_validate({"subject": subject, "night": _on(night), "focus_kps": kps,
                                             "replan": replan or None})  # fmt: skip
        access.require(who, "teacher")
        klass = access.see_class(svc.engine, who, class_id, subject=asked.subject)
        if kps:  # what was taught today opens those points for tonight (C1/C2 check them)
            plans.record_progress(db=svc.engine, class_id=class_id, grade=klass.grade, subject=asked.subject,
                                  points={kp: asked.night for kp in asked.focus_kps})  # fmt: skip
        return asked

    asked = await run_in_threadpool(_try, request, ready)
    if isinstance(asked, HTMLResponse):
        return asked
    done = await _planning(
        request, who, plans.plan_class, class_id=class_id, subject=asked.subject, night=asked.night,
        focus_kps=asked.focus_kps, teacher_id=who.user_id, now=datetime.now(UTC), replan=asked.replan,
    )  # fmt: skip
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse(f"/teacher?class_id={class_id}&subject={subject}&night={night}", status_code=303)


def _bar(held: dict[str, float], cap: float) -> list[dict[str, Any]]:
    """An evening's minutes per subject as parts of a bar as long as the cap."""
    return [{"subject": sub, "minutes": m, "percent": round(100 * m / cap, 1) if cap else 0}
            for sub, m in sorted(held.items())]  # fmt: skip


@router.post("/teacher/publish", response_class=HTMLResponse)
def teacher_publish(
    request: Request, class_id: str = Form(), subject: str = Form(), night: str = Form(), csrf: str = Form("")
) -> Response:
    svc, who = _posted(request, csrf)

    def publish() -> Any:
        on = _on(night)
        access.require(who, "teacher")
        access.see_class(svc.engine, who, class_id, subject=subject)
        return plans.publish_class(db=svc.engine, class_id=class_id, subject=subject, night=on,
                                   now=datetime.now(UTC))  # fmt: skip

    done = _try(request, publish)
    if isinstance(done, HTMLResponse):
        return done
    n = len(done.published)
    return RedirectResponse(f"/teacher?class_id={class_id}&subject={subject}&night={night}&done=published_n&n={n}",
                            status_code=303)  # fmt: skip


def _plan_for_edit(
    svc: Services, who: Principal, plan_id: str, browse: dict[str, str] | None = None
) -> dict[str, Any]:
    """A draft to edit: its items, its class (the school's name for it) and a page of the bank to
    choose from (filtered by the browser's GET parameters: point, kind, words, page)."""
    plan = access.see_plan(svc.engine, who, plan_id)
    place = plans.class_of(db=svc.engine, class_id=plan.class_id)
    browse = browse or {}
    number = browse.get("page", "1")
    bank = plans.bank_items(db=svc.engine, school_id=place.school_id, subject=plan.subject, grade=place.grade,
                            kp=browse.get("kp", ""), kind=browse.get("kind", ""), words=browse.get("q", ""),
                            page=int(number) if number.isascii() and number.isdigit() else 1)  # fmt: skip
    return {"plan": plan, "items": plans.plan_items(db=svc.engine, plan_id=plan_id), "bank": bank,
            "browse": browse, "class_name": plans.class_names(db=svc.engine, class_ids=[plan.class_id])[plan.class_id],
            "kinds": list(ITEM_KINDS)}  # fmt: skip


BROWSE = ("kp", "kind", "q", "page")


@router.get("/teacher/plans/{plan_id}/edit", response_class=HTMLResponse)
def edit_page(request: Request, plan_id: str) -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    browse = {k: request.query_params[k][:100] for k in BROWSE if request.query_params.get(k)}
    found = _try(request, lambda: _plan_for_edit(svc, who, plan_id, browse))
    if isinstance(found, HTMLResponse):
        return found
    return _render(
        request, "edit.html", who=who, violations=[], added="", kept=None, tiers={}, own={}, **found
    )


@router.post("/teacher/plans/{plan_id}/edit", response_class=HTMLResponse)
async def edit_save(request: Request, plan_id: str) -> Response:
    form = await request.form()
    svc, who = await run_in_threadpool(_posted, request, str(form.get("csrf", "")))

    found = await run_in_threadpool(_try, request, lambda: _plan_for_edit(svc, who, plan_id))
    if isinstance(found, HTMLResponse):
        return found
    keep = [str(x) for x in form.getlist("keep")]
    tiers = {i.item_id: str(form.get(f"tier-{i.item_id}", i.tier)) for i in found["items"]}
    lines = [{"item_id": i.item_id, "tier": tiers[i.item_id]} for i in found["items"] if i.item_id in keep]
    added = " ".join(str(form.get("add", "")).split() + [str(x) for x in form.getlist("add_item")])
    own = {k: str(form.get(k, "")) for k in ("own_text", "own_kind", "own_minutes", "own_tier")}
    own_kps = [str(x) for x in form.getlist("own_kps")]
    p = found["plan"]

    def refused(
        status: int, text: str, violations: list[dict[str, Any]], again: dict[str, Any]
    ) -> HTMLResponse:
        # the page as the teacher left it: what they ticked, their tiers, what they added
        return _render(request, "edit.html", status=status, who=who, problem=text, violations=violations,
                       added=added, kept=set(keep), tiers=tiers, own={**own, "kps": own_kps}, **again)  # fmt: skip

    if own["own_text"].strip():  # a teacher's own item or workbook exercise: into the school's bank first
        try:
            minutes = float(own["own_minutes"] or "nan")
        except ValueError:
            minutes = float("nan")

        def add_own() -> str:
            place = plans.class_of(db=svc.engine, class_id=p.class_id)
            return plans.add_own_item(db=svc.engine, school_id=place.school_id, subject=p.subject, grade=place.grade,
                                      text=own["own_text"], kps=own_kps, kind=own["own_kind"],
                                      minutes=minutes if minutes == minutes else 0.0, teacher_id=who.user_id,
                                      now=datetime.now(UTC))  # fmt: skip

        try:
            new_item = await run_in_threadpool(add_own)
        except DomainError as exc:
            status, text, violations = _refusal(_lang(request), exc)
            return refused(status, text, violations, found)
        own = {}
        own_kps = []
        added = " ".join([*added.split(), new_item])
    seen = {x["item_id"] for x in lines}
    lines += [{"item_id": x, "tier": "basic"} for x in dict.fromkeys(added.split()) if x not in seen]
    try:
        body = EditRequest.model_validate({"items": lines})
    except ValueError as exc:  # the form itself is wrong (no items, an id too long)
        return refused(422, str(exc), [], found)
    try:  # re-timed by the model and re-verified: in the planning pool
        await svc.planning.run(who.user_id, plans.edit_plan, plan_id=plan_id, items=body.items,
                               teacher_id=who.user_id, now=datetime.now(UTC))  # fmt: skip
    except Busy as exc:
        return _refused(request, exc)
    except DomainError as exc:
        status, text, violations = _refusal(_lang(request), exc)
        again = await run_in_threadpool(_try, request, lambda: _plan_for_edit(svc, who, plan_id))
        if isinstance(again, HTMLResponse):  # gone meanwhile (discarded, erased)
            return again
        return refused(status, text, violations, again)
    return RedirectResponse(f"/teacher?class_id={p.class_id}&subject={p.subject}&night={p.night}&done=saved",
                            status_code=303)  # fmt: skip


# --- worksheets ---------------------------------------------------------------------------------


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
    pdf = _try(
        request,
        lambda: render_pdf(found, lang, settings.pdf_font, settings.pdf_cjk_font, settings.sheet_key()),
    )
    if isinstance(pdf, HTMLResponse):
        return pdf
    name = f"worksheets-{student_id or class_id}-{night}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _sheets(
    request: Request, class_id: str, subject: str, night: str, student_id: str
) -> dict[str, Any] | HTMLResponse:
    """Published sets to print: one page per student (the whole class, or one student)."""
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> dict[str, Any]:
        on = _on(night)
        access.see_worksheets(
            svc.engine, who, class_id=class_id, subject=subject, student_id=student_id or None
        )
        pages = plans.worksheet_pages(db=svc.engine, night=on, class_id=class_id, subject=subject,
                                      student_id=student_id or None)  # fmt: skip
        return {"pages": pages, "night": on, "subject": subject, "class_id": class_id,
                "student_id": student_id or None, "who": who}  # fmt: skip

    return _try(request, load)


# --- the student (and the parent) ----------------------------------------------------------------


@router.get("/student", response_class=HTMLResponse)
def student_page(request: Request, night: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> dict[str, Any]:
        sid = access.child_of(who, request.query_params.get("student_id"))
        student = access.see_student(svc.engine, who, sid)
        now = datetime.now(UTC)
        today = evenings.school_today(student.timezone, now)  # the school's today, not UTC's
        on = _on(night, today)
        tonight = evenings.tonight(db=svc.engine, book=svc.book, student=student, night=on)
        book = records.error_book_by_point(db=svc.engine, student=student, include_resolved=False)
        stems = records.item_texts(db=svc.engine, item_ids=[i.item_id for i in tonight.items])
        left = [i for i in tonight.items if not i.done and not i.timed_out]
        time_up = None
        if left and not tonight.excused and tonight.stopped is None:
            time_up = evenings.time_up(db=svc.engine, book=svc.book, student=student, night=on, now=now)
        return {"tonight": tonight, "book": book, "stems": stems, "student_id": sid, "night": on,
                "exempt": tonight.excused, "today": on == today, "time_up": time_up, "left": len(left),
                "children": sorted(who.students), "event": uuid.uuid4().hex}  # fmt: skip

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "student.html", who=who, **found)


def _back(student_id: str, night: str, done: str = "") -> Response:
    query = urlencode({"student_id": student_id, "night": night, **({"done": done} if done else {})})
    return RedirectResponse(f"/student?{query}", status_code=303)


@router.post("/student/answer", response_class=HTMLResponse)
def student_answer(
    request: Request,
    student_id: str = Form(),
    night: str = Form(),
    item_id: str = Form(),
    event_id: str = Form(),
    minutes: float = Form(gt=0, le=360),
    correct: str = Form(""),
    answer: str | None = Form(None),
    graded: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    """One item done: a typed answer graded on the server, or (work that cannot be graded) the
    student's own right or wrong, chosen (nothing is pre-selected)."""
    svc, who = _posted(request, csrf)

    def record() -> Any:
        typed = answer if answer is not None or graded != "1" else ""  # an empty answer box: said so
        if typed is None and correct not in ("1", "0"):
            raise Invalid("choose right or wrong", "请选择做对了还是做错了")
        one = AttemptIn(event_id=event_id, item_id=item_id, night=_on(night), submitted_at=datetime.now(UTC),
                        correct=None if typed is not None else correct == "1", answer=typed,
                        seconds=max(1, round(minutes * 60)), source="app")  # fmt: skip
        access.require(who, "student", "teacher")
        student = access.see_student(svc.engine, who, student_id)
        return records.record(db=svc.engine, student_id=student_id, answers=[one],
                              subjects=access.subjects_of(who, student))  # fmt: skip

    done = _try(request, record)
    if isinstance(done, HTMLResponse):
        return done
    graded = "" if not done.graded else "graded_right" if done.graded[0].correct else "graded_wrong"
    return _back(student_id, night, graded)


@router.post("/student/excuse", response_class=HTMLResponse)
def student_excuse(
    request: Request,
    student_id: str = Form(),
    night: str = Form(),
    reason: str = Form(""),
    detail: str = Form("", max_length=150),
    confirm: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    """A parent's excuse: with a reason, and only once the parent confirms that tonight's written work
    is not done and nothing moves to another night (T12)."""
    svc, who = _posted(request, csrf)

    def excuse() -> Any:
        on = _on(night)
        access.require(who, "parent")
        access.see_student(svc.engine, who, student_id)
        if reason not in EXCUSE_REASONS:
            raise Invalid("choose a reason for the excuse", "请选择免写的原因")
        if confirm != "yes":
            raise Invalid("tick the box to confirm the excuse", "请勾选确认后再提交免写")
        zh = i18n.word("zh", f"excuse_{reason}")
        note = f"{zh}：{detail.strip()}" if detail.strip() else zh
        return evenings.excuse(db=svc.engine, student_id=student_id, night=on, recorded_by=who.user_id,
                               now=datetime.now(UTC), note=note)  # fmt: skip

    done = _try(request, excuse)
    if isinstance(done, HTMLResponse):
        return done
    return _back(student_id, night, "excused")


EXCUSE_REASONS = ("ill", "tired", "family", "other")


@router.post("/student/excuse/undo", response_class=HTMLResponse)
def student_excuse_undo(
    request: Request, student_id: str = Form(), night: str = Form(), csrf: str = Form("")
) -> Response:
    svc, who = _posted(request, csrf)

    def undo() -> Any:
        on = _on(night)
        access.require(who, "parent")
        student = access.see_student(svc.engine, who, student_id)
        return evenings.undo_excuse(db=svc.engine, student=student, night=on, now=datetime.now(UTC))

    done = _try(request, undo)
    if isinstance(done, HTMLResponse):
        return done
    return _back(student_id, night, "excuse_undone")


@router.post("/student/stop", response_class=HTMLResponse)
def student_stop(
    request: Request, student_id: str = Form(), night: str = Form(), csrf: str = Form("")
) -> Response:
    """作业熔断: the student or a parent stops the evening once its time is up."""
    svc, who = _posted(request, csrf)

    def stop() -> Any:
        on = _on(night)
        access.require(who, "student", "parent")
        student = access.see_student(svc.engine, who, student_id)
        return evenings.stop_evening(db=svc.engine, book=svc.book, student=student, night=on,
                                     now=datetime.now(UTC), stopped_by=who.user_id)  # fmt: skip

    done = _try(request, stop)
    if isinstance(done, HTMLResponse):
        return done
    return _back(student_id, night, "stopped")


@router.get("/student/error-book", response_class=HTMLResponse)
def error_book_page(request: Request, student_id: str = "") -> Response:
    """One student's error book to print: by subject and knowledge point, when each item went wrong
    and whether it has been right since (a record to look at, not homework)."""
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> dict[str, Any]:
        sid = access.child_of(who, student_id or None) if who.role in ("student", "parent") else student_id
        student = access.see_student(svc.engine, who, sid)
        book = records.error_book_by_point(db=svc.engine, student=student,
                                           subjects=access.subjects_of(who, student))  # fmt: skip
        return {"books": [book], "title_of": sid, "who": who}

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "error_book.html", **found)


@router.get("/school/error-book", response_class=HTMLResponse)
def class_error_book_page(request: Request, class_id: str = "") -> Response:
    """The class's error books to print, one page per student (a teacher: their subjects only)."""
    svc = _services(request)
    who = signed_in(svc, request)
    class_id = _class_choice(svc, who, class_id)

    def load() -> dict[str, Any]:
        access.require(who, "teacher", *COORDINATORS)
        access.see_class(svc.engine, who, class_id)
        books = []
        for sid in evenings.class_students(db=svc.engine, class_id=class_id):
            student = access.see_student(svc.engine, who, sid)
            books.append(records.error_book_by_point(db=svc.engine, student=student,
                                                     subjects=access.subjects_of(who, student)))  # fmt: skip
        return {"books": books, "title_of": class_id, "who": who}

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "error_book.html", **found)


# --- the head teacher and the school ------------------------------------------------------------


def _class_choice(svc: Services, who: Principal, class_id: str) -> str:
    """The class asked for, else the first this account may see."""
    return class_id or access.first_class(svc.engine, who)


@router.get("/school/evening", response_class=HTMLResponse)
def evening_page(request: Request, class_id: str = "", night: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    class_id = _class_choice(svc, who, class_id)

    def load() -> Any:
        on = _on(night)
        access.require(who, *COORDINATORS)
        access.see_class(svc.engine, who, class_id)
        return evenings.class_evening(db=svc.engine, book=svc.book, class_id=class_id, night=on)

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    rows = []
    for s in found.students:
        cap = s.cap_minutes or 0.0
        rows.append({"s": s, "cap": cap, "bar": _bar(s.reserved_minutes, cap)})
    return _render(request, "evening.html", who=who, class_id=class_id, night=found.night, rows=rows,
                   classes=sorted(who.classes), homework=found.homework, excused=found.excused)  # fmt: skip


@router.get("/school/notice", response_class=HTMLResponse)
def notice_page(request: Request, class_id: str = "", week_of: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)
    class_id = _class_choice(svc, who, class_id)

    def load() -> Any:
        on = _on(week_of)
        access.see_notice(svc.engine, who, class_id)
        return evenings.weekly_notice(db=svc.engine, book=svc.book, class_id=class_id, week_of=on)

    found = _try(request, load)
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

    def load() -> Any:
        access.require(who, *COORDINATORS)
        access.see_class(svc.engine, who, class_id)
        return evenings.burden(db=svc.engine, book=svc.book, class_id=class_id, start=first, end=last)

    found = _try(request, load)
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

    def load() -> dict[str, Any]:
        access.require(who, *STAFF)
        access.see_class(svc.engine, who, class_id)
        current = evenings.allocations(db=svc.engine, class_id=class_id, book=svc.book)
        return {"subjects": evenings.class_subjects(db=svc.engine, class_id=class_id),
                "in_force": current.in_force, "cap": current.cap_minutes}  # fmt: skip

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "allocations.html", who=who, class_id=class_id, **found)


@router.post("/school/allocations", response_class=HTMLResponse)
async def allocations_save(request: Request) -> Response:
    form = await request.form()
    svc, who = _posted(request, str(form.get("csrf", "")))
    class_id, day = str(form.get("class_id", "")), str(form.get("weekday", ""))
    if not (day.isascii() and day.isdigit() and int(day) <= 6):
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
        asked = AllocationIn(weights=weights)
        access.require(who, *COORDINATORS)
        access.see_class(svc.engine, who, class_id)
        return evenings.set_allocation(db=svc.engine, book=svc.book, class_id=class_id, weekday=weekday,
                                       weights=asked.weights)  # fmt: skip

    done = _try(request, save)
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse(f"/school/allocations?class_id={class_id}&done=saved", status_code=303)

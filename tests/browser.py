"""The browser tests' shared parts (tests/test_pages.py, tests/test_scan_flow.py, …): the app served
by uvicorn on loopback with the real models trained on data_samples/ (`site`, one per test module),
Debian's chromium driven by Playwright (`browser`, `page`; the fixtures reach the tests through
tests/conftest.py), signing in, screenshots (into JIANFU_SCREENSHOTS, else a temporary folder) and the
basic accessibility checks every page passes."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine, select

from service.app import create_app
from service.auth import create_user
from service.policy.evenings import set_allocation
from service.policy.policy import PolicyBook
from service.settings import Settings
from service.store import tables as t
from service.store.db import make_engine

CLASS = "east-5-1"
PASSWORD = "page-password-1"
# Flags that keep chromium off the network (this machine's network is closed) and quiet.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--metrics-recording-only"]  # fmt: skip


@dataclass
class Site:
    base: str
    engine: Engine
    students: list[str]
    shots: Path

    def api_token(self, username: str) -> dict[str, str]:
        r = httpx.post(f"{self.base}/v1/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def publish(self, night: date) -> None:
        """A night's maths planned and published through the API (for the pages that show it)."""
        teacher = self.api_token("t-math")
        body = {"subject": "math", "night": night.isoformat()}
        r = httpx.post(f"{self.base}/v1/classes/{CLASS}/plans", json=body, headers=teacher, timeout=120)
        assert r.status_code == 200, r.text
        assert r.json()["summary"]["planned"] > 0, (r.json()["summary"], r.json()["students"][0])
        r = httpx.post(f"{self.base}/v1/classes/{CLASS}/publish", json=body, headers=teacher, timeout=60)
        assert r.status_code == 200 and r.json()["published"], r.text


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port in a thread; its base URL while it runs."""
    port = _port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def site(samples_sqlite: str, bundle: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from tests.conftest import SAMPLES, FixedModels  # (tests/conftest.py imports this module)

    folder = tmp_path_factory.mktemp("pages")
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), folder / "school.db")
    engine = make_engine(f"sqlite:///{folder / 'school.db'}")
    with engine.connect() as conn:
        students = list(
            conn.execute(
                select(t.students.c.student_id)
                .where(t.students.c.class_id == CLASS, t.students.c.personal_cap_minutes.is_(None))
                .order_by(t.students.c.student_id)
            ).scalars()
        )
    book = PolicyBook(SAMPLES / "policies")
    for weekday in range(5):  # the head teacher gives maths half of every school evening
        set_allocation(engine, book, CLASS, weekday, {"math": 1, "chinese": 1})
    create_user(engine, "t-math", PASSWORD, "teacher", scopes=[("class", CLASS, "math")])
    create_user(engine, "h-1", PASSWORD, "head_teacher", scopes=[("class", CLASS, "")])
    create_user(engine, "s-1", PASSWORD, "student", scopes=[("student", students[0], "")])
    create_user(engine, "p-1", PASSWORD, "parent", scopes=[("student", students[1], "")])
    settings = Settings(
        data_dir=folder / "var", jwt_secret="p" * 40, policy_dir=SAMPLES / "policies", log_json=False
    )
    app = create_app(settings, engine=engine, models=FixedModels(bundle))
    shots = Path(os.environ.get("JIANFU_SCREENSHOTS") or folder / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        with serving(app) as base:
            yield Site(base, engine, students, shots)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield found
        found.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    found = context.new_page()
    yield found
    context.close()


def sign_in(page: Page, site: Site, username: str, path: str) -> None:
    page.goto(f"{site.base}{path}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def shot(page: Page, site: Site, name: str) -> None:
    page.screenshot(path=str(site.shots / f"{name}.png"))


def accessible(page: Page) -> None:
    """The basics: `lang` on <html>, a label for every control, every control reachable with Tab, and
    text contrast ≥ 4.5:1 against the nearest opaque background."""
    assert page.locator("html").get_attribute("lang") in ("zh-CN", "en")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden')
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name || e.id)"""
    )
    assert unlabelled == [], f"controls without a label: {unlabelled}"
    controls = page.evaluate(
        """() => [...document.querySelectorAll('a[href], button, input, select, textarea')]
            .filter(e => e.type !== 'hidden' && e.offsetParent !== null).length"""
    )
    reached: set[str] = set()
    page.locator("body").focus()
    for _ in range(4 * controls + 10):  # a date field takes a Tab per part (year, month, day)
        page.keyboard.press("Tab")
        key = page.evaluate(
            """() => { const e = document.activeElement;
                        return e ? e.tagName + '|' + (e.id || e.name || '') + '|' + (e.href || e.value || '') + '|' +
                        [...document.querySelectorAll('*')].indexOf(e) : '' }"""
        )
        reached.add(key)
    assert len(reached - {""}) >= controls, f"only {len(reached)} of {controls} controls reachable by Tab"
    low = page.evaluate(
        """() => {
          const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
          const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                                        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
          const background = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                                      if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3); } return [255, 255, 255]; };
          const bad = [];
          for (const e of document.querySelectorAll('body *')) {
            if (!e.offsetParent || ![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
            const fg = lum(rgb(getComputedStyle(e).color)), bg = lum(background(e));
            const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
            if (ratio < 4.5) bad.push(e.tagName + ' ' + e.textContent.trim().slice(0, 30) + ' ' + ratio.toFixed(2));
          }
          return bad; }"""
    )
    assert low == [], f"text below 4.5:1 contrast: {low[:5]}"

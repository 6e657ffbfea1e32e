"""The district's pages in a real browser (Playwright driving Debian's chromium, as tests/test_pages.py):
a district account signs in, lands on its district's figures in Chinese, prints them on A4, downloads
the figures as CSV and Excel and the signed report as PDF; every class's notice; nothing on any of it
names a student; a head teacher is refused. The app serves no trained model here (FixedModels(None)):
no district page plans or predicts."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import Engine, func, select

from service.app import create_app
from service.auth import create_user
from service.settings import Settings
from service.store import tables as t
from service.store.archive import REPORT
from service.store.db import make_engine
from tests.browser import PASSWORD, accessible, serving, sign_in
from tests.conftest import SAMPLES, FixedModels
from tests.district_fixtures import END, START, DistrictWorld, build

A4_POINTS = (595, 842)  # 210 × 297 mm


@dataclass
class Site:
    base: str
    engine: Engine
    world: DistrictWorld
    ids: list[str]


@pytest.fixture(scope="module")
def site(samples_sqlite: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("district-pages")
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), folder / "school.db")
    engine = make_engine(f"sqlite:///{folder / 'school.db'}")
    world = build(engine)
    create_user(engine, "bureau", PASSWORD, "district", scopes=[("district", "d-east", "")])
    create_user(engine, "h-1", PASSWORD, "head_teacher", scopes=[("class", "east-5-1", "")])
    with engine.connect() as conn:
        ids = list(conn.execute(select(t.students.c.student_id)).scalars())
    settings = Settings(
        data_dir=folder / "var", jwt_secret="p" * 40, policy_dir=SAMPLES / "policies", log_json=False
    )
    app = create_app(settings, engine=engine, models=FixedModels(None))
    try:
        with serving(app) as base:
            yield Site(base, engine, world, ids)
    finally:
        engine.dispose()


def no_student(site: Site, text: str) -> None:
    assert not [s for s in site.ids if s in text]
    assert not [n for n in site.world.names if n in text]


PERIOD = f"start={START.isoformat()}&end={END.isoformat()}"


def test_a_district_sees_prints_and_downloads_its_figures(page: Page, site: Site) -> None:
    sign_in(page, site, "bureau", f"/district?{PERIOD}")  # type: ignore[arg-type]
    expect(page.locator("h1")).to_contain_text("城东教育局")
    expect(page.locator("h1")).to_contain_text("作业监测")
    expect(page.locator("#d-classes")).to_have_text("3")  # the shown classes: the 2 withheld are in no total
    expect(page.locator("#d-shown-only")).to_contain_text("合计只含列出的班级；2 个班级人数不足")
    expect(page.locator(".district-table")).to_contain_text("五年级1班")
    expect(page.locator(".district-table")).to_contain_text("人数不足，不单列")  # the small classes together
    no_student(site, page.content())
    accessible(page)
    pdf = page.pdf(
        prefer_css_page_size=True, print_background=True
    )  # the browser's print, at the page's size

    pages = PdfReader(io.BytesIO(pdf)).pages
    for one in pages:  # A4 by the print CSS (@page), within a point of Chromium's rounding
        assert one.mediabox.width == pytest.approx(A4_POINTS[0], abs=1.5)
        assert one.mediabox.height == pytest.approx(A4_POINTS[1], abs=1.5)
    printed = "".join(pages[0].extract_text().split())
    assert "城东教育局" in printed and "按实际时长未超时班级0%" in printed  # 0 of 1 shown
    assert "选择" not in printed  # the period form is not printed
    assert not page.locator("form.no-print").is_hidden()  # on screen; hidden in print by the print CSS
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV").click()
    text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("学校,班级,年级") and "五年级1班" in text
    no_student(site, text)
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Excel (.xlsx)").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))
    assert book["汇总"]["A4"].value == "学校"
    with page.expect_download() as report_download:
        page.get_by_role("link", name="PDF").click()
    assert Path(report_download.value.path()).read_bytes().startswith(b"%PDF")
    with site.engine.connect() as conn:
        signed = conn.execute(select(t.archive_entries.c.public).where(t.archive_entries.c.kind == REPORT)).scalars().all()  # fmt: skip
    assert len(signed) == 1 and '"signed_by":"bureau"' in signed[0]
    with page.expect_download() as again:  # the same report downloaded again: the one issued, not a new entry
        page.get_by_role("link", name="PDF").click()
    assert Path(again.value.path()).read_bytes() == Path(report_download.value.path()).read_bytes()
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(t.archive_entries.c.kind == REPORT)).scalar() == 1


def test_every_class_notice_and_refusals(page: Page, site: Site) -> None:
    sign_in(page, site, "bureau", "/district/notices?week_of=2026-11-10")  # type: ignore[arg-type]
    expect(page.locator("article.notice")).to_have_count(3)
    expect(page.locator("main")).to_contain_text("east-5-1")
    no_student(site, page.content())
    page.goto(f"{site.base}/district?district_id=d-west")  # not theirs: their own district instead
    expect(page.locator("h1")).to_contain_text("城东教育局")
    page.context.clear_cookies()
    sign_in(page, site, "h-1", "/district")  # type: ignore[arg-type]
    assert page.locator("main").inner_text().strip() != ""
    expect(page.locator("main")).not_to_contain_text("城东教育局")
    response = page.request.get(f"{site.base}/district/summary.csv")
    assert response.status == 403

"""POST /v1/scans as a background job: a teacher uploads a marked scan, polls the job to its result
(what was stored, what could not be read), sees the review queue of their classes only; a student
may not upload; another teacher cannot follow the job."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from benchmarks.scan_gen import _draw_mark, make_scans, render
from service import scans
from service.app import create_app
from service.auth import create_user
from service.settings import Settings
from service.store import tables as t
from tests.api.conftest import PASSWORD, Caller
from tests.conftest import SAMPLES
from tests.test_scans import _pdf, _sheets


class NoModels:
    """Scanning needs no model: the app is started without one (its planning routes are not called)."""

    ready = False

    def current(self) -> None:
        return None

    def status(self) -> dict[str, Any]:
        return {"version": None, "last_error": "not loaded in this test"}

    def check_once(self, retry_refused: bool = False) -> str:
        return "unchanged"

    def stop(self) -> None:
        pass


@pytest.fixture
def client(school: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    create_user(school, "t-math", PASSWORD, "teacher", scopes=[("class", "east-5-1", "math")])
    with school.connect() as conn:
        other = conn.execute(select(t.classes.c.class_id).where(t.classes.c.class_id != "east-5-1")
                             .order_by(t.classes.c.class_id).limit(1)).scalar_one()  # fmt: skip
        student = conn.execute(select(t.students.c.student_id).where(t.students.c.class_id == "east-5-1")
                               .order_by(t.students.c.student_id).limit(1)).scalar_one()  # fmt: skip
    create_user(school, "t-other", PASSWORD, "teacher", scopes=[("class", other, "math")])
    create_user(school, "s-1", PASSWORD, "student", scopes=[("student", student, "")])
    settings = Settings(data_dir=tmp_path / "var", jwt_secret="k" * 40, policy_dir=SAMPLES / "policies")
    app = create_app(settings, engine=school, models=NoModels())  # type: ignore[arg-type]
    with TestClient(app) as c:
        yield c, settings


def _caller(c: TestClient, name: str) -> Caller:
    r = c.post("/v1/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return Caller(c, {"Authorization": f"Bearer {r.json()['access_token']}"})


def test_a_teacher_uploads_scans_as_a_job_and_follows_it_to_what_was_stored(
    client: tuple[TestClient, Settings],
    school: Engine,
    tmp_path: Path,
) -> None:
    c, settings = client
    sheets = _sheets(school, 2)
    pdf, printed, kinds = _pdf(sheets, key=settings.sheet_key())
    files, _ = make_scans(pdf, printed, kinds, tmp_path / "scan", condition="flatbed_150dpi", seed=11)
    teacher = _caller(c, "t-math")
    started = teacher.post(
        "/v1/scans", files=[("files", (f.name, f.read_bytes(), "application/pdf")) for f in files]
    )
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    deadline = time.monotonic() + 90
    while (job := teacher.get(location).json())["state"] in (
        "queued",
        "running",
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job["state"] == "done", job
    result = job["result"]
    assert result["pages"] == len(printed) + 2 and result["pages_read"] == len(printed)
    assert len(result["unreadable"]) == 2 and result["attempts_stored"] > 0
    assert _caller(c, "t-other").get(location).status_code == 404  # only its owner follows it
    assert (
        _caller(c, "s-1").post("/v1/scans", files=[("files", ("a.jpg", b"x", "image/jpeg"))]).status_code
        == 403
    )
    queue = teacher.get("/v1/scans/reviews")
    assert queue.status_code == 200 and all(r["class_id"] == "east-5-1" for r in queue.json())
    assert _caller(c, "t-other").get("/v1/scans/reviews").json() == []
    bad = teacher.post("/v1/scans", files=[("files", ("notes.txt", b"x", "text/plain"))])
    assert bad.status_code == 422 and "notes.txt" in bad.text


def test_the_upload_scans_page_shows_the_form_and_the_queue_with_one_button_per_choice(
    client: tuple[TestClient, Settings], school: Engine, tmp_path: Path
) -> None:
    c, settings = client
    sheets = _sheets(school, 1)
    pdf, printed, _ = _pdf(sheets, key=settings.sheet_key())
    # an unclear box for the queue: a page whose first row has two boxes filled
    img = render(pdf, 200)[0]
    for mark in ("right", "wrong"):
        _draw_mark(img, random.Random(1), printed[0].layout.slots[0].marks[mark], "fill", 200 / 25.4)
    cv2.imwrite(str(tmp_path / "two.jpg"), img)
    scans.import_scans(db=school, key=settings.sheet_key(), paths=[tmp_path / "two.jpg"], by="t-math",
                       now=datetime.now(UTC))  # fmt: skip
    form = c.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    signed = c.post(
        "/login", data={"username": "t-math", "password": PASSWORD, "next": "/scans", "csrf": token.group(1)}
    )
    assert signed.status_code == 200, signed.text
    page = c.get("/scans")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    assert 'value="right"' in page.text and 'value="wrong"' in page.text and "/crop.png" in page.text
    crop = re.search(r'src="(/scans/reviews/[^"]+/crop.png)"', page.text)
    assert crop is not None and c.get(crop.group(1)).content.startswith(b"\x89PNG")


def test_a_scanner_pdf_over_a_mib_goes_through_the_page_and_a_review_answer_that_large_does_not(
    client: tuple[TestClient, Settings],
) -> None:
    """The /scans page takes uploads as large as POST /v1/scans does (a real scanner PDF is several
    MiB): refused, if at all, for what it is, never for its size; a review's answer (POST
    /v1/scans/reviews/{id}) is a small body: over 1 MiB is 413. The crop is documented as PNG."""
    c, settings = client
    assert settings.max_body_bytes == 1 << 20
    big = b"%PDF-1.4\n" + bytes(random.Random(3).getrandbits(8) for _ in range((1 << 20) + 4096))
    form = c.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    c.post(
        "/login", data={"username": "t-math", "password": PASSWORD, "next": "/scans", "csrf": token.group(1)}
    )
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/scans").text)
    assert csrf is not None
    sent = c.post("/scans", data={"csrf": csrf.group(1)}, files=[("files", ("pile.pdf", big, "application/pdf"))],
                  follow_redirects=False)  # fmt: skip
    assert sent.status_code == 303, sent.text  # a job started (it will find no page it can read)
    job = sent.headers["location"].split("job=")[1]
    deadline = time.monotonic() + 60  # let the job end before the app stops
    jobs = c.app.state.services.jobs  # type: ignore[attr-defined]
    while (found := jobs.find(job)) is not None and found.state in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)

    teacher = _caller(c, "t-math")
    answer = teacher.post("/v1/scans/reviews/rv-none", content=b'{"answer": "' + b"x" * (1 << 20) + b'"}',
                          headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 413, answer.text
    crop = c.get("/openapi.json").json()["paths"]["/v1/scans/reviews/{review_id}/crop.png"]["get"]
    assert list(crop["responses"]["200"]["content"]) == ["image/png"]

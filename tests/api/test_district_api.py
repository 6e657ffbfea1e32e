"""The district's routes through HTTP: a district account sees its own district only and nothing
about one student anywhere (every district route's answer is searched for student ids and names);
no school account reaches the district routes; a district account reaches no student- or
class-level route. Every route is found in the app's own OpenAPI document, so a route added later
is walked too.

The app here serves no trained model (FixedModels(None)): no district route plans or predicts, and
the routes walked for refusals refuse before any model is asked."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.app import create_app
from service.auth import create_user
from service.settings import Settings
from service.store import tables as t
from service.store.archive import verify
from tests.api.conftest import PASSWORD, Caller
from tests.conftest import SAMPLES, FixedModels
from tests.district_fixtures import END, NIGHT, START, DistrictWorld, build

PERIOD = {"from": START.isoformat(), "to": END.isoformat()}


@dataclass
class World:
    client: TestClient
    engine: Engine

    def sign_in(self, username: str) -> Caller:
        r = self.client.post("/v1/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return Caller(self.client, {"Authorization": f"Bearer {r.json()['access_token']}"})

    def paths(self) -> dict[str, dict[str, Any]]:
        return dict(self.client.get("/openapi.json").json()["paths"])


@pytest.fixture
def world(school: Engine, tmp_path: Path) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path / "var", jwt_secret="k" * 40, policy_dir=SAMPLES / "policies")
    app = create_app(settings, engine=school, models=FixedModels(None))
    with TestClient(app) as client:
        yield World(client, school)


@pytest.fixture
def district_world(world: World) -> DistrictWorld:
    found = build(world.engine)
    e = world.engine
    create_user(e, "bureau-east", PASSWORD, "district", scopes=[("district", "d-east", "")])
    create_user(e, "bureau-west", PASSWORD, "district", scopes=[("district", "d-west", "")])
    create_user(e, "admin-east", PASSWORD, "school_admin", scopes=[("school", "sch-east", "")])
    create_user(e, "h-1", PASSWORD, "head_teacher", scopes=[("class", "east-5-1", "")])
    create_user(e, "t-math", PASSWORD, "teacher", scopes=[("class", "east-5-1", "math")])
    create_user(e, "s-1", PASSWORD, "student", scopes=[("student", found.students[0], "")])
    create_user(e, "p-1", PASSWORD, "parent", scopes=[("student", found.students[0], "")])
    create_user(e, "data", PASSWORD, "data_team")
    return found


def district_urls(world: World, district_id: str) -> list[str]:
    """Every district route's URL (each file format it offers), from the app's OpenAPI document."""
    urls = []
    for path, operations in world.paths().items():
        if not path.startswith("/v1/districts/"):
            continue
        assert set(operations) == {"get"}, path  # the district reads; it changes nothing
        path = path.replace("{district_id}", district_id)
        formats = [p["schema"].get("enum") for p in operations["get"].get("parameters", [])
                   if p["name"] == "file_format"]  # fmt: skip
        urls += [path.replace("{file_format}", f) for f in formats[0]] if formats else [path]
    return urls


def text_of(r: Any) -> str:
    """What an answer says, whatever its format (a workbook read cell by cell)."""
    kind = r.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        book = openpyxl.load_workbook(io.BytesIO(r.content))
        return "\n".join(str(v) for s in book.worksheets for row in s.iter_rows(values_only=True) for v in row if v is not None)  # fmt: skip
    if "pdf" in kind:
        return r.content.decode(
            "latin-1"
        )  # the chart's and tables' text is compressed; ids would be plain in metadata
    return str(r.text)


def test_a_district_sees_its_own_district_and_no_student(world: World, district_world: DistrictWorld) -> None:
    east = world.sign_in("bureau-east")
    me = east.get("/v1/me").json()
    assert me["role"] == "district" and me["districts"] == ["d-east"]
    with world.engine.connect() as conn:
        ids = list(conn.execute(select(t.students.c.student_id)).scalars())
    urls = district_urls(world, "d-east")
    assert len(urls) >= 6
    answers = 0
    for url in urls:
        r = east.get(url, params=PERIOD | ({"week_of": NIGHT.isoformat()} if "notices" in url else {}))
        assert r.status_code == 200, (url, r.text)
        text = text_of(r)
        assert not [s for s in ids if s in text], url
        assert not [n for n in district_world.names if n in text], url
        answers += 1
        other = east.get(url.replace("d-east", "d-west"), params=PERIOD)
        assert other.status_code == 404, url  # another district's: not confirmed to exist
    assert answers >= 6
    found = east.get("/v1/districts/d-east/summary", params=PERIOD).json()
    assert [s["school_id"] for s in found["schools"]] == ["sch-east"]
    assert found["over_cap_units"] == ["east-5-1"]
    default = east.get("/v1/districts/d-east/summary").json()  # the last half month by default
    assert (date_of(default["end"]) - date_of(default["start"])).days == 14


def date_of(value: str) -> Any:
    from datetime import date

    return date.fromisoformat(value)


@pytest.mark.parametrize("username", ["admin-east", "h-1", "t-math", "s-1", "p-1", "data"])
def test_no_school_account_reaches_a_district_route(world: World, district_world: DistrictWorld, username: str) -> None:  # fmt: skip
    caller = world.sign_in(username)
    for url in district_urls(world, "d-east"):
        r = caller.get(url, params=PERIOD)
        assert r.status_code == 403, (username, url, r.status_code)


def test_a_district_account_reaches_no_student_or_class_route(
    world: World, district_world: DistrictWorld
) -> None:
    east: Caller = world.sign_in("bureau-east")
    with world.engine.connect() as conn:
        item = conn.execute(select(t.plan_items.c.item_id).where(t.plan_items.c.plan_id == "plan-d-0")).scalars().first()  # fmt: skip
    values = {"student_id": district_world.students[0], "class_id": "east-5-1", "plan_id": "plan-d-0",
              "item_id": item, "night": NIGHT.isoformat(), "weekday": "1", "kind": "attempts", "job_id": "job-x",
              "review_id": "rev-x"}  # fmt: skip
    open_to_all = {"/v1/token", "/v1/logout", "/v1/me"}
    tried = 0
    for path, operations in world.paths().items():
        if not path.startswith("/v1/") or path in open_to_all or path.startswith("/v1/districts/"):
            continue
        url = path
        for name, value in values.items():
            url = url.replace("{" + name + "}", str(value))
        assert "{" not in url, f"a path parameter this test does not fill: {url}"
        for method in (m.upper() for m in operations):
            params = {"week_of": NIGHT.isoformat(), "from": START.isoformat(), "to": END.isoformat(),
                      "subject": "math", "night": NIGHT.isoformat()}  # fmt: skip
            r = east.request(method, url, params=params, json={})
            tried += 1
            allowed = (403, 404) if method == "GET" else (403, 404, 422)
            assert r.status_code in allowed, (method, url, r.status_code, r.text[:200])
            # A refusal may echo the id asked for, never anything about a student beyond it.
            assert not [n for n in district_world.names if n in r.text], (method, url)
            assert not [s for s in district_world.students[1:] if s in r.text], (method, url)
    assert tried >= 20


def test_downloading_the_same_report_again_archives_it_once(
    world: World, district_world: DistrictWorld
) -> None:
    east = world.sign_in("bureau-east")
    url = "/v1/districts/d-east/report.pdf"
    first, again = east.get(url, params=PERIOD), east.get(url, params=PERIOD)
    assert first.status_code == again.status_code == 200, again.text
    # The report already issued, byte for byte: the SHA-256 the archive holds.
    assert (
        first.content == again.content
        and first.headers["X-Report-SHA256"] == again.headers["X-Report-SHA256"]
    )
    with world.engine.connect() as conn:
        entries = conn.execute(select(t.archive_entries.c.public).where(t.archive_entries.c.kind == "report")).scalars().all()  # fmt: skip
        assert verify(conn).first is None
    assert len(entries) == 1 and first.headers["X-Report-SHA256"] in entries[0]

"""Record the OpenAPI examples from a real session: `make examples` (about a minute).

Builds the sample school in a temporary SQLite database, trains the models on data_samples/, signs in
as each role and calls every operation of API v1 once with the request examples the OpenAPI page
shows; the answers (lists cut to two entries) and the path and query values used are written to
service/api/examples.json, which the app adds to its OpenAPI description. tests/api/test_operations.py
checks that every operation has an example and that each one matches its schema.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
OUT = ROOT / "service" / "api" / "examples.json"
CLASS, NIGHT, PASSWORD = "east-5-1", "2026-11-10", "example-password-1"


def _trim(value: Any, key: str = "") -> Any:
    """Lists cut to two entries, a student's levels (one per knowledge point) to four, a CSV export to
    its header and two rows."""
    if isinstance(value, list):
        return [_trim(v) for v in value[:2]]
    if isinstance(value, dict):
        kept = list(value.items())[: 4 if key == "levels" else None]
        return {k: _trim(v, k) for k, v in kept}
    if isinstance(value, str) and value.count("\n") > 3:
        return "".join(value.splitlines(keepends=True)[:3])
    return value


def record() -> dict[str, Any]:
    from service.app import create_app
    from service.auth import create_user
    from service.settings import Settings
    from service.store import tables as t
    from service.store.db import make_engine, upgrade
    from service.store.importer import import_files
    from training.pipeline import promote, train

    with tempfile.TemporaryDirectory(prefix="jianfu-examples-") as folder:
        tmp = Path(folder)
        engine = make_engine(f"sqlite:///{tmp / 'school.db'}")
        upgrade(engine)
        import_files(engine, [SAMPLES])
        with engine.connect() as conn:
            students = list(
                conn.execute(
                    select(t.students.c.student_id)
                    .where(t.students.c.class_id == CLASS, t.students.c.personal_cap_minutes.is_(None))
                    .order_by(t.students.c.student_id)
                ).scalars()
            )
        student, other = students[0], students[1]
        for username, role, scopes in (
            ("teacher", "teacher", [("class", CLASS, "math")]),
            ("head", "head_teacher", [("class", CLASS, "")]),
            ("student", "student", [("student", student, "")]),
            ("parent", "parent", [("student", other, "")]),
            ("data", "data_team", []),
        ):
            create_user(engine, username, PASSWORD, role, scopes=scopes)
        tracking = f"sqlite:///{tmp / 'mlflow.db'}"
        promote(tracking, train(SAMPLES, tracking, artifact_location=(tmp / "artifacts").as_uri())["version"])
        settings = Settings(
            data_dir=tmp / "var", jwt_secret="e" * 40, policy_dir=SAMPLES / "policies",
            mlflow_tracking_uri=tracking, model_poll_seconds=3600, log_json=False,
        )  # fmt: skip
        app = create_app(settings, engine=engine)
        examples: dict[str, Any] = {}
        values: dict[str, str] = {"class_id": CLASS, "student_id": student, "night": NIGHT, "week_of": NIGHT}
        with TestClient(app) as c:
            schema = app.openapi()

            def body(path: str, method: str) -> Any:
                content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
                ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
                return schema["components"]["schemas"][ref]["examples"][0]

            def call(method: str, template: str, url: str, who: str | None, **kwargs: Any) -> Any:
                headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
                r = c.request(method.upper(), url, headers=headers, **kwargs)
                if r.status_code >= 300:
                    raise RuntimeError(f"{method.upper()} {url}: {r.status_code} {r.text[:300]}")
                answer = r.json() if r.headers["content-type"].startswith("application/json") else r.text
                examples[f"{method} {template}"] = _trim(answer)
                return answer

            tokens: dict[str | None, str] = {}
            for who in ("teacher", "head", "student", "parent", "data"):
                tokens[who] = call(
                    "post", "/v1/token", "/v1/token", None, data={"username": who, "password": PASSWORD}
                )["access_token"]
            call("get", "/v1/me", "/v1/me", "teacher")
            call("get", "/healthz", "/healthz", None)
            call("get", "/readyz", "/readyz", None)

            head_split = body("/v1/classes/{class_id}/allocations/{weekday}", "put")
            values["weekday"] = "1"
            call("put", "/v1/classes/{class_id}/allocations/{weekday}", f"/v1/classes/{CLASS}/allocations/1",
                 "head", json=head_split)  # fmt: skip
            call("get", "/v1/classes/{class_id}/allocations", f"/v1/classes/{CLASS}/allocations", "head")
            plan = call("post", "/v1/classes/{class_id}/plans", f"/v1/classes/{CLASS}/plans", "teacher",
                        json=body("/v1/classes/{class_id}/plans", "post"))  # fmt: skip
            mine = next(s for s in plan["students"] if s["student_id"] == student)
            theirs = next(s for s in plan["students"] if s["student_id"] == other)
            edit = {"items": [{"item_id": i["item_id"], "tier": "basic"} for i in mine["items"][:2]]}
            values["plan_id"] = mine["plan_id"]
            call("put", "/v1/plans/{plan_id}", f"/v1/plans/{mine['plan_id']}", "teacher", json=edit)
            call("post", "/v1/plans/{plan_id}/publish", f"/v1/plans/{mine['plan_id']}/publish", "teacher")
            call("post", "/v1/plans/{plan_id}/discard", f"/v1/plans/{theirs['plan_id']}/discard", "teacher")
            call("post", "/v1/classes/{class_id}/publish", f"/v1/classes/{CLASS}/publish", "teacher",
                 json=body("/v1/classes/{class_id}/publish", "post"))  # fmt: skip
            check = body("/v1/checks", "post")
            call("post", "/v1/checks", "/v1/checks", "teacher", json={**check, "student_id": student})
            call("put", "/v1/classes/{class_id}/progress", f"/v1/classes/{CLASS}/progress", "teacher",
                 json=body("/v1/classes/{class_id}/progress", "put"))  # fmt: skip
            call("get", "/v1/classes/{class_id}/mastery", f"/v1/classes/{CLASS}/mastery", "teacher",
                 params={"subject": "math", "night": NIGHT})  # fmt: skip
            values["subject"] = "math"

            s = f"/v1/students/{student}"
            call(
                "get", "/v1/students/{student_id}/tonight", f"{s}/tonight", "student", params={"night": NIGHT}
            )
            values["item_id"] = item = mine["items"][0]["item_id"]
            call("get", "/v1/items/{item_id}", f"/v1/items/{item}", "student")
            answers = {"attempts": [
                {"event_id": "ex-1", "item_id": mine["items"][0]["item_id"], "night": NIGHT,
                 "submitted_at": f"{NIGHT}T19:40:00+08:00", "correct": False, "seconds": 150},
                {"event_id": "ex-2", "item_id": mine["items"][1]["item_id"], "night": NIGHT,
                 "submitted_at": f"{NIGHT}T19:44:00+08:00", "correct": True, "seconds": 90},
            ]}  # fmt: skip
            call("post", "/v1/students/{student_id}/attempts", f"{s}/attempts", "student", json=answers)
            call("get", "/v1/students/{student_id}/error-book", f"{s}/error-book", "student")
            call("post", "/v1/students/{student_id}/evening-reports", f"{s}/evening-reports", "student",
                 json=body("/v1/students/{student_id}/evening-reports", "post"))  # fmt: skip
            call("get", "/v1/classes/{class_id}/review", f"/v1/classes/{CLASS}/review", "teacher",
                 params={"subject": "math", "night": NIGHT})  # fmt: skip
            call("post", "/v1/students/{student_id}/exemptions", f"/v1/students/{other}/exemptions",
                 "parent", json=body("/v1/students/{student_id}/exemptions", "post"))  # fmt: skip
            call("post", "/v1/classes/{class_id}/releases", f"/v1/classes/{CLASS}/releases", "head",
                 json=body("/v1/classes/{class_id}/releases", "post"))  # fmt: skip
            call(
                "get",
                "/v1/classes/{class_id}/evenings/{night}",
                f"/v1/classes/{CLASS}/evenings/{NIGHT}",
                "head",
            )
            call("get", "/v1/classes/{class_id}/notice", f"/v1/classes/{CLASS}/notice", "parent",
                 params={"week_of": NIGHT})  # fmt: skip
            values["from"], values["to"] = NIGHT, "2026-11-14"
            call("get", "/v1/classes/{class_id}/burden", f"/v1/classes/{CLASS}/burden", "head",
                 params={"from": NIGHT, "to": "2026-11-14"})  # fmt: skip

            call("get", "/v1/model", "/v1/model", "data")
            call("post", "/v1/model/reload", "/v1/model/reload", "data")
            values["kind"], values["format"] = "attempts", "csv"
            call("get", "/v1/exports/{kind}", "/v1/exports/attempts", "data", params={"from": NIGHT})
            row = (
                "event_id,student_id,item_id,night,submitted_at,correct,seconds,score,source\n"
                f"ex-3,{student},{mine['items'][0]['item_id']},{NIGHT},{NIGHT}T20:00:00+08:00,1,60,,paper\n"
            )
            job = call("post", "/v1/imports", "/v1/imports", "data", params={"dry_run": "true"},
                       files=[("files", ("attempts.csv", row.encode(), "text/csv"))])  # fmt: skip
            values["dry_run"], values["job_id"] = "true", job["job_id"]
            while job["state"] in ("queued", "running"):  # the import runs as a job: its answer when done
                time.sleep(0.05)
                job = call("get", "/v1/imports/{job_id}", f"/v1/imports/{job['job_id']}", "data")
            record_district(c, engine, call, values, tokens)
            record_evening_and_marking(c, engine, call, values, student, other, mine)
            values["days"], values["until"] = "14", "2026-11-01"
            call(
                "get",
                "/v1/model/health",
                "/v1/model/health",
                "data",
                params={"days": 14, "until": "2026-11-01"},
            )
            call("delete", "/v1/students/{student_id}", f"/v1/students/{other}", "data")
            values["include_resolved"] = "false"
            values["now"] = f"{NIGHT}T20:30:00+08:00"
        engine.dispose()
    return {"responses": examples, "parameters": values}


def record_district(
    c: TestClient, engine: Any, call: Any, values: dict[str, str], tokens: dict[str | None, str]
) -> None:
    """The district's operations (issue 19): a district over the sample schools, its account, the
    figures and every class's notices (the file downloads are bytes: no example)."""
    from service.auth import create_user
    from service.district import save_district

    save_district(db=engine, district_id="d-1", name="示范区教育局", schools=["sch-east", "sch-west"])
    create_user(engine, "bureau", PASSWORD, "district", scopes=[("district", "d-1", "")])
    signed = c.post(
        "/v1/token", data={"username": "bureau", "password": PASSWORD}
    )  # the teacher's stays the example
    tokens["bureau"] = signed.json()["access_token"]
    values["district_id"], values["file_format"] = "d-1", "xlsx"
    call("get", "/v1/districts/{district_id}/summary", "/v1/districts/d-1/summary", "bureau",
         params={"from": values["from"], "to": values["to"]})  # fmt: skip
    call("get", "/v1/districts/{district_id}/notices", "/v1/districts/d-1/notices", "bureau",
         params={"week_of": NIGHT})  # fmt: skip


def record_evening_and_marking(
    c: TestClient,
    engine: Any,
    call: Any,
    values: dict[str, str],
    student: str,
    other: str,
    mine: dict[str, Any],
) -> None:
    """The student's evening and the marking (issues 16 and 17): the error book by knowledge point,
    an excuse undone on its own evening, 作业熔断 on an evening past bedtime, a scan upload (a photo
    that is no worksheet: listed as unreadable) and its job, and the review queue with one unclear box
    (the row the reader leaves for a box it cannot read, made here: a real scan needs a printer)."""
    import io
    import uuid
    from datetime import UTC, datetime

    from PIL import Image
    from sqlalchemy import insert

    from service.evenings import school_today
    from service.store import tables as t

    s = f"/v1/students/{student}"
    call("get", "/v1/students/{student_id}/error-book/points", f"{s}/error-book/points", "student")
    today = school_today("Asia/Shanghai", datetime.now(UTC)).isoformat()
    o = f"/v1/students/{other}"
    c.post(f"{o}/exemptions", json={"night": today, "note": "身体不适"},
           headers={"Authorization": f"Bearer {_token(c, 'parent')}"})  # fmt: skip
    call(
        "delete", "/v1/students/{student_id}/exemptions", f"{o}/exemptions", "parent", params={"night": today}
    )
    call(
        "post",
        "/v1/students/{student_id}/evening-stops",
        f"{s}/evening-stops",
        "student",
        json={"night": NIGHT},
    )

    photo = io.BytesIO()
    Image.new("L", (600, 800), 250).save(photo, format="PNG")
    job = call("post", "/v1/scans", "/v1/scans", "teacher",
               files=[("files", ("photo-1.png", photo.getvalue(), "image/png"))])  # fmt: skip
    while job["state"] in ("queued", "running"):
        time.sleep(0.05)
        job = call("get", "/v1/scans/{job_id}", f"/v1/scans/{job['job_id']}", "teacher")
    crop = io.BytesIO()
    Image.new("L", (240, 40), 255).save(crop, format="PNG")
    review_id = f"rev-{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(insert(t.scan_reviews).values(
            review_id=review_id, kind="box", sheet=f"p.{mine['plan_id']}", item_id=mine["items"][0]["item_id"],
            student_id=student, class_id=CLASS, subject="math", night=datetime.fromisoformat(NIGHT).date(),
            number=1, fills=[0.31, 0.04, 0.02], crop=crop.getvalue(), created_at=datetime.now(UTC)))  # fmt: skip
    values["review_id"] = review_id
    call("get", "/v1/scans/reviews", "/v1/scans/reviews", "teacher")
    call(
        "post",
        "/v1/scans/reviews/{review_id}",
        f"/v1/scans/reviews/{review_id}",
        "teacher",
        json={"answer": "right"},
    )


def _token(c: TestClient, who: str) -> str:
    return str(c.post("/v1/token", data={"username": who, "password": PASSWORD}).json()["access_token"])


def main() -> None:
    found = record()
    OUT.write_text(json.dumps(found, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(found['responses'])} operations")


if __name__ == "__main__":
    main()

"""Limits before work (issue 18): request bodies' arrays and ids are bounded."""

from __future__ import annotations

from tests.api.conftest import PROBLEM, Caller


def test_an_over_long_array_is_refused_naming_its_json_path(teacher: Caller) -> None:
    """Arrays and ids in request bodies are bounded in the schemas (service.schemas)."""
    r = teacher.post(
        "/v1/classes/east-5-1/plans",
        json={"subject": "math", "night": "2026-11-10", "focus_kps": ["math-g5-12"] * 21},
    )
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert {e["pointer"] for e in r.json()["errors"]} == {"/focus_kps"}
    r = teacher.post(
        "/v1/classes/east-5-1/plans", json={"subject": "math", "night": "2026-11-10", "focus_kps": ["k" * 65]}
    )
    assert r.status_code == 422 and {e["pointer"] for e in r.json()["errors"]} == {"/focus_kps/0"}
    r = teacher.post(
        "/v1/classes/east-5-1/progress", json={"subject": "math", "points": {"k" * 65: "2026-11-10"}}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"].startswith("/points/")

"""The data team's route and page for the champion's health on live data (service/model_health.py;
the figures themselves: tests/test_model_health.py)."""

from __future__ import annotations

from tests.api.conftest import Caller, World


def test_the_data_team_reads_the_health_and_no_one_else_does(data_team: Caller, teacher: Caller) -> None:
    r = data_team.get("/v1/model/health", params={"days": 7, "until": "2026-11-01"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == "7" and body["start"] == "2026-10-26" and body["answers"] > 0
    assert body["groups"] and all(0 <= g["ece"] <= 1 for g in body["groups"])
    assert teacher.get("/v1/model/health").status_code == 403
    assert data_team.get("/v1/model/health", params={"days": 0}).status_code == 422
    assert data_team.get("/v1/model/health", params={"until": "1 Nov"}).status_code == 422


def test_the_data_team_s_page_draws_a_reliability_curve_for_every_group(world: World) -> None:
    token = world.token("data")["Authorization"].removeprefix("Bearer ")
    page = world.client.get("/data/health", params={"until": "2026-11-01"}, cookies={"jianfu_session": token})
    assert page.status_code == 200, page.text
    assert "模型健康" in page.text and "可靠性曲线" in page.text
    groups = world.client.get("/v1/model/health", params={"until": "2026-11-01"}, headers=world.token("data"))
    assert (
        page.text.count("<polyline") == len(groups.json()["groups"]) > 0
    )  # one curve per school and subject
    assert 'href="/data/health"' in world.client.get("/data", cookies={"jianfu_session": token}).text

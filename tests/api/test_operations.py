"""Operations and the API's description: health, readiness, metrics and request ids; every
operation's recorded OpenAPI example matches its schema."""

from __future__ import annotations

from service.api.v1.data import XLSX
from tests.api.conftest import Caller, World


def test_health_readiness_metrics_and_request_ids(anonymous: Caller, student: Caller) -> None:
    c = anonymous
    assert c.get("/healthz").json() == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["model"] == "version 7"
    r = c.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    metrics = c.get("/metrics").text
    assert 'jianfu_requests_total{method="GET",route="/healthz",status="200"}' in metrics
    assert student.get("/v1/me").json()["role"] == "student"
    assert 'route="/v1/me",status="200"' in c.get("/metrics").text  # by route template, under /v1
    made = c.get("/v1/me").headers["x-request-id"]  # refused (401), still given an id and counted
    assert len(made) == 32 and made != c.get("/v1/me").headers["x-request-id"]
    assert 'route="/v1/me",status="401"' in c.get("/metrics").text
    assert c.get("/nowhere").status_code == 404
    assert 'route="unmatched",status="404"' in c.get("/metrics").text
    assert c.get("/openapi.json").json()["paths"]["/v1/classes/{class_id}/plans"]["post"]["summary"]


def test_every_operation_shows_a_recorded_example_that_matches_its_schema(world: World) -> None:
    """The OpenAPI page's examples (service/api/examples.json, `make examples`) cover every operation's
    answer and every path and query value, and each answer still matches the schema it illustrates."""
    import jsonschema_rs

    schema = world.client.get("/openapi.json").json()
    missing, wrong = [], []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if "example" not in parameter:
                    missing.append(f"{method} {path} {parameter['name']}")
            ok = next(r for code, r in operation["responses"].items() if code.startswith("2"))
            for media_type, content in ok.get("content", {}).items():  # 204 (sign-out): no body
                if media_type in (XLSX, "image/png"):
                    continue  # bytes have no JSON example (a workbook: the same rows as text/csv's)
                if "example" not in content:
                    missing.append(f"{method} {path} {media_type}")
                elif media_type == "application/json":
                    check = {**content["schema"], "components": schema["components"]}
                    errors = [
                        e.message
                        for e in jsonschema_rs.Draft202012Validator(check).iter_errors(content["example"])
                    ]
                    if errors:
                        wrong.append(f"{method} {path}: {errors[:3]}")
                else:
                    assert content["example"].startswith("student,")  # a pseudonymised CSV export
    assert not missing and not wrong, (missing, wrong)

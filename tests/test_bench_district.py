"""`jianfu bench district` end to end at a tiny size (the two sample schools, one week of logs):
generated, imported into PostgreSQL, every class and subject planned through 2 replicas over HTTP,
the district report made in a child process. The figures are the bench's; here only that it runs
through, answers every key, and leaves no evening over the cap (counted from the database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.district import run
from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.postgres


def test_the_district_bench_runs_at_a_tiny_size(postgres_server: str, tmp_path: Path) -> None:
    url = fresh_postgres_database(postgres_server)
    lines: list[str] = []
    result = run(schools=2, students=60, weeks=1, clients=2, seed=7, postgres_url=url, say=lines.append)
    json.dumps(result)  # what `--out` writes
    assert result["setup"]["full_size_run"] is False
    assert result["generate"]["students"] == 259 and result["generate"]["classes"] == 6
    assert result["import"]["attempts"] == result["generate"]["attempts"] > 1000
    assert result["import"]["attempts_per_second"] > 0
    plan = result["plan_all"]
    assert plan["classes"] == 6 and plan["class_subjects"] == 24
    assert plan["answers"].get("200") == 24 and plan["failed"] == 0, plan["failures"]
    assert plan["students_with_sets"] > 200 and plan["sets"] > 200  # work was really set
    assert plan["over_cap_evenings"] == 0, plan["over_cap_examples"]
    assert plan["seconds"] > 0 and plan["classes_per_second_per_core"] > 0
    assert plan["cores_for_30_minutes"] >= 1 and plan["cores_for_full_district_30_minutes"] >= 1
    report = result["report"]
    assert report["schools"] == 2 and report["pdf_bytes"] > 10_000 and report["archived"]
    assert report["seconds"] > 0 and report["peak_rss_mb"] > 50
    assert result["database"]["size_mb"] > 1
    assert set(result["targets_met"]) == {
        "over_cap_evenings_0", "plans_all_answered_200", "report_seconds", "report_peak_rss_mb"
    }  # fmt: skip
    assert any("planned 24/24" in line for line in lines)  # progress is shown as it goes

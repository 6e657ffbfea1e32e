"""Files read within limits (issue 18, finding 3): a Parquet file's values are counted before they are
decoded, so a small file cannot decompress without bound; CSV files are bounded too. And the
school's and the registry's SQLite files are made readable by their owner only (finding 8)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from models import files
from models.files import Problems, read_rows
from models.schema import spec_for

ROOT = Path(__file__).resolve().parent.parent


def parquet_bomb(path: Path, stem_chars: int = 100_000, rows: int = 20_000) -> Path:
    """An items file of a few dozen KB whose one stem (dictionary-encoded) repeats on every row:
    decoded, `stem_chars * rows` bytes (2 GB for the defaults, finding 3's file)."""

    def same(value: str) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([value]))

    table = pa.table(
        {
            "item_id": same("math-g5-12-001"), "subject": same("math"), "kp_ids": same("math-g5-12"),
            "grade": same("5"), "kind": same("written"), "stem": same("x" * stem_chars),
        }
    )  # fmt: skip
    pq.write_table(table, path, compression="zstd", row_group_size=rows)
    return path


BOMB_RUN = """
import json, resource, sys
from pathlib import Path
import pyarrow as pa
from service.data_team import import_paths
from service.errors import DomainError
from service.store.db import make_engine, upgrade

engine = make_engine(sys.argv[2])
upgrade(engine)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    import_paths(db=engine, paths=[Path(sys.argv[1])], erasure_key="test-key", dry_run=True)
    refused = None
except DomainError as exc:
    refused = exc.extra["problems"]
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"problems": refused, "rss_growth_kb": grown, "arrow_peak": pa.default_memory_pool().max_memory()}))
"""


def test_a_dictionary_encoded_parquet_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    """Finding 3: a 46 KB items.parquet (one 100 KB stem x 20,000 rows) was refused but took the
    service from 1.0 to 2.8 GB. Now it is refused naming the file and column with the memory
    hardly moving (measured in a fresh process: peak RSS growth and Arrow's peak allocation)."""
    bomb = parquet_bomb(tmp_path / "items.parquet")
    assert bomb.stat().st_size < 200_000
    run = subprocess.run(
        [sys.executable, "-c", BOMB_RUN, str(bomb), f"sqlite:///{tmp_path / 'school.db'}"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["problems"], out
    first = out["problems"][0]
    assert (first["file"], first["field"], first["row"]) == ("items.parquet", "stem", 2), first
    assert first["detail"].startswith("a row group is too large decoded (") and "行组" in first["detail_zh"]
    assert int(first["detail"].split("(")[1].split(" ")[0]) >= 2_000_000_000  # counted, never decoded
    assert out["rss_growth_kb"] < 150 * 1024, out  # the bomb decoded is 2 GB as Python text
    assert out["arrow_peak"] < 64 << 20, out


def test_a_parquet_file_over_the_decoded_limits_is_refused_naming_where(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Values just under the per-value limit can still add up: the row group's and the file's
    decoded bytes are bounded (counted from the dictionary, not by decoding)."""
    bomb = parquet_bomb(tmp_path / "items.parquet", stem_chars=1000, rows=5000)  # 15 MB decoded
    monkeypatch.setattr(files, "MAX_GROUP_BYTES", 1 << 20)
    problems = Problems()
    assert list(read_rows(bomb, spec_for("items"), problems)) == []
    [problem] = problems.shown
    assert problem.row == 2 and "row group is too large" in problem.en and "行组" in problem.zh
    monkeypatch.setattr(files, "MAX_GROUP_BYTES", 1 << 30)
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1 << 20)
    problems = Problems()
    assert list(read_rows(bomb, spec_for("items"), problems)) == []
    assert "the file's data is too large" in problems.shown[0].en
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1 << 30)
    problems = Problems()
    assert len(list(read_rows(bomb, spec_for("items"), problems))) == 5000 and not problems


def test_a_parquet_value_over_the_csv_field_limit_is_refused_naming_its_row(tmp_path: Path) -> None:
    bomb = parquet_bomb(tmp_path / "items.parquet", stem_chars=files.MAX_FIELD_CHARS + 1, rows=3)
    problems = Problems()
    assert list(read_rows(bomb, spec_for("items"), problems)) == []
    [problem] = problems.shown
    assert (problem.file, problem.row, problem.column) == (str(bomb), 2, "stem")
    assert "longer than 100000 characters" in problem.en and "100000" in problem.zh


def test_a_csv_file_over_the_file_limit_is_refused_unread(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "items.csv"
    path.write_text("item_id,subject\n" + "math-g5-12-001,math\n" * 1000, encoding="utf-8")
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 10_000)
    problems = Problems()
    assert list(read_rows(path, spec_for("items"), problems)) == []
    assert "the file's data is too large" in problems.shown[0].en and problems.shown[0].file == str(path)


def test_the_school_and_registry_databases_are_made_owner_only(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Finding 8: jianfu.db and mlflow.db were created 0644. `jianfu run` makes the database with
    make_engine + upgrade and the registry at settings.resolved_tracking_uri()."""
    monkeypatch.delenv(
        "MLFLOW_TRACKING_URI", raising=False
    )  # MLflow sets it in-process when a test uses a registry
    from mlflow import MlflowClient

    from service.settings import Settings
    from service.store.db import make_engine, upgrade

    old = os.umask(0o022)  # the usual umask, whatever the test runner's
    try:
        settings = Settings(data_dir=tmp_path / "var")
        engine = make_engine(settings.resolved_database_url())
        upgrade(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            made = sorted((tmp_path / "var").glob("jianfu.db*"))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in made}
        engine.dispose()
        uri = settings.resolved_tracking_uri()
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
        registry = tmp_path / "var" / "mlflow.db"
        modes[registry.name] = stat.S_IMODE(registry.stat().st_mode)
    finally:
        os.umask(old)
    assert "jianfu.db" in modes and "mlflow.db" in modes
    assert set(modes.values()) == {0o600}, {k: oct(v) for k, v in modes.items()}

"""The `jianfu` command: one entry point whose groups drive the same functions the tests call."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from service.settings import get_settings

app = typer.Typer(
    help="jianfu (减负): tiered, personal homework within the double-reduction caps.", no_args_is_help=True
)
data_app = typer.Typer(help="The data contract: validate, import and generate data.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks: each writes JSON to --out and prints a summary.", no_args_is_help=True
)
app.add_typer(data_app, name="data")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
models_app = typer.Typer(
    help="The model registry: versions of `jianfu` and their aliases.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
TrackingOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri", help="MLflow tracking server (default: MLFLOW_TRACKING_URI, else var/mlflow.db)."
    ),
]


def _tracking(uri: str | None) -> str:
    from service.settings import get_settings

    return uri or get_settings().resolved_tracking_uri()


DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database", help="SQLAlchemy URL (default: JIANFU_DATABASE_URL, else the embedded SQLite)."
    ),
]
Paths = Annotated[
    list[Path], typer.Argument(help="CSV/Parquet files, or folders of them.", show_default=False)
]
KindOpt = Annotated[
    str | None, typer.Option("--kind", help="Record kind of the files, if their names do not say.")
]
MaxProblems = Annotated[int, typer.Option("--max-problems", help="Show at most this many problems.")]
ROOT = Path(__file__).resolve().parent.parent


def _engine(url: str | None):  # type: ignore[no-untyped-def]
    from service.store.db import make_engine, upgrade

    engine = make_engine(url or get_settings().resolved_database_url())
    upgrade(engine)  # under the migration lock: safe beside a starting service or another command
    return engine


def _deleted_students(url: str | None) -> Callable[[str], bool]:
    """The students deleted on a guardian's request, as the service's database remembers them:
    training and the promotion gate leave them out (training does not read the database itself)."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.store.erasure import load_erasures

    settings = get_settings()
    embedded = Path(settings.resolved_database_url().removeprefix("sqlite:///"))
    if url is None and not settings.database_url and not embedded.exists():
        return lambda _student: False  # no service database here, so no deletion recorded either
    try:
        engine = _engine(url)
        try:
            with engine.connect() as conn:
                erasures = load_erasures(conn, settings.erasure_key)
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        typer.echo(
            f"无法读取删除记录，不能训练 / cannot read the deletion records, so cannot leave deleted "
            f"students out ({type(exc).__name__}); give the service's database with --database",
            err=True,
        )
        raise typer.Exit(1) from None
    return erasures.__contains__


def _import(
    paths: list[Path], url: str | None, kind: str | None, max_problems: int, dry_run: bool, bar: bool = True
) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from service.store.importer import ImportReport, import_files

    started = time.perf_counter()
    # Rows of students deleted on a guardian's request are left out (the settings' erasure key).
    console = Console(stderr=True)  # the bar on a terminal only: piped output stays the report alone
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("行 / rows"),
               TimeElapsedColumn())  # fmt: skip
    # bar=False inside another bar (the first start's): one live display at a time
    with Progress(*columns, console=console, disable=not (bar and console.is_terminal)) as rows:
        task = rows.add_task("检查 / checking", total=None)

        def tell(report: ImportReport) -> None:
            if report.phase == "checking":
                rows.update(task, completed=report.rows_checked)
            else:
                rows.update(task, description="写入 / writing", completed=report.rows_written,
                            total=report.rows_to_write or None)  # fmt: skip

        report = import_files(
            _engine(url), paths, dry_run=dry_run, kind=kind, max_problems=max_problems, progress=tell
        )
    for path, file_kind in report.files:
        typer.echo(f"  {path}  ({file_kind})")
    if not report.ok:
        for line in report.problems.lines():
            typer.echo(line, err=True)
        n = report.problems.count
        typer.echo(f"{n} 个问题，未写入任何数据 / {n} problem{'s' * (n != 1)}; nothing was written", err=True)
        raise typer.Exit(1)
    for kind_name, counts in report.counts.items():
        typer.echo(f"  {kind_name}: {counts}")
    if report.erased_rows:
        typer.echo(f"  已删除学生的行未导入 / rows of deleted students left out: {report.erased_rows}")
    verb = "有效（未写入）/ valid (nothing written)" if dry_run else "已导入 / imported"
    typer.echo(f"{verb} in {time.perf_counter() - started:.1f}s")


@data_app.command("validate")
def data_validate(
    paths: Paths,
    database: Annotated[
        str | None,
        typer.Option(
            "--database", help="Also check against this database (rolled back). Default: the files alone."
        ),
    ] = None,
    kind: KindOpt = None,
    max_problems: MaxProblems = 100,
) -> None:
    """Check files against the data contract; list every problem as file:row:column; write nothing."""
    _import(paths, database or "sqlite:///:memory:", kind, max_problems, dry_run=True)


@data_app.command("import")
def data_import(
    paths: Paths, database: DatabaseOpt = None, kind: KindOpt = None, max_problems: MaxProblems = 100
) -> None:
    """Import files in one transaction: all rows, or none if any row is wrong."""
    _import(paths, database, kind, max_problems, dry_run=False)


@data_app.command("sample")
def data_sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the world into.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, byte-identical files.")] = 7,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=20, help="Weeks of homework logs.")] = 8,
    district: Annotated[
        int | None,
        typer.Option(
            "--district",
            min=2,
            help="A district (教育局) of N schools instead: the two sample "
            "schools and N-2 more, policies varying as theirs do; writes district.json too.",
        ),
    ] = None,
    students: Annotated[
        int | None,
        typer.Option("--students", min=1, help="With --district: about this many students in all."),
    ] = None,
) -> None:
    """Generate the synthetic school (contract files + hidden ground truth in ground_truth/), or with
    --district a district of schools (then `jianfu districts add --file OUT/district.json`)."""
    from training.synth.world import SCHOOLS, district_schools, generate

    if students is not None and district is None:
        raise typer.BadParameter("--students 只用于 --district / --students goes with --district")
    schools = district_schools(district, seed, students) if district else SCHOOLS
    counts = generate(out, seed, weeks=weeks, schools=schools, district="示范区教育局" if district else None)
    typer.echo(f"wrote {out}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if district:
        typer.echo(f"then: jianfu data import {out} && jianfu districts add --file {out / 'district.json'}")


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None) -> None:
    """Create or migrate the database schema to the latest version (once: concurrent runs and starting
    services wait for each other, and whoever comes second finds nothing to do)."""
    from service.store.db import make_engine, upgrade

    engine = make_engine(database or get_settings().resolved_database_url())
    try:
        done = upgrade(engine)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if done.applied:
        typer.echo(f"applied {', '.join(done.applied)} (from {done.before or 'an empty database'}): {where}")
    else:
        typer.echo(f"schema already current ({done.after}): {where}")
    typer.echo(f"schema up to date: {where}")


@bench_app.command("ingest")
def bench_ingest(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    attempts: Annotated[int, typer.Option("--attempts", help="How many attempts to import.")] = 1_000_000,
    postgres_url: Annotated[
        str | None, typer.Option("--postgres-url", help="PostgreSQL to use (default: start a throwaway one).")
    ] = None,
) -> None:
    """Bulk import speed: attempts/second into SQLite and into PostgreSQL, through the real import path."""
    from benchmarks.ingest import run

    result = run(attempts=attempts, postgres_url=postgres_url)
    _write_result(out, result)
    for engine_name in ("sqlite", "postgresql"):
        r = result[engine_name]
        typer.echo(
            f"{engine_name:>10}: {r['attempts_per_second']:>9,.0f} attempts/s ({r['attempts']:,} in {r['seconds']:.1f}s)"
        )
    typer.echo(f"wrote {out}")


@bench_app.command("verifier")
def bench_verifier(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    cases: Annotated[int, typer.Option("--cases", help="How many generated cases.")] = 1_000_000,
    seed: Annotated[int, typer.Option("--seed")] = 20261125,
    workers: Annotated[int, typer.Option("--workers", help="Processes.")] = 2,
) -> None:
    """The verifier on generated cases with known answers: misses and false alarms (target 0 and 0)."""
    from benchmarks.verifier import run

    result = run(cases=cases, seed=seed, workers=workers)
    _write_result(out, result)
    typer.echo(
        f"{result['cases']:,} cases in {result['seconds']:.0f}s ({result['cases_per_second']:,}/s): "
        f"{result['misses']} misses, {result['false_alarms']} false alarms"
    )
    for line in result["examples"]:
        typer.echo(f"  {line}")
    typer.echo(f"wrote {out}")
    if result["misses"] or result["false_alarms"]:
        raise typer.Exit(1)


@bench_app.command("ledger")
def bench_ledger(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    workers: Annotated[int, typer.Option("--workers", help="Concurrent teachers (threads).")] = 16,
    per_worker: Annotated[int, typer.Option("--per-worker", help="Reservations each teacher tries.")] = 400,
    postgres_url: Annotated[
        str | None, typer.Option("--postgres-url", help="PostgreSQL to use (default: start a throwaway one).")
    ] = None,
) -> None:
    """Concurrent reservations on one class's evening: evenings over the cap (target 0) and reservations/second."""
    from benchmarks.ledger import run

    result = run(workers=workers, per_worker=per_worker, postgres_url=postgres_url)
    _write_result(out, result)
    for name in ("sqlite", "postgresql"):
        r = result[name]
        guard = r["evening_guard_only"]
        typer.echo(
            f"{name:>10}: {r['over_cap_evenings']} evenings over the cap; {r['reservations_per_second']:,.0f} reservations/s "
            f"({guard['accepted']} accepted, {guard.get('refused_T5', 0)} refused, {guard.get('discarded', 0)} discarded, "
            f"{guard['nearly_full_evenings']}/{guard['evenings']} evenings nearly full)"
        )
    typer.echo(f"wrote {out}")
    if any(result[name]["over_cap_evenings"] for name in ("sqlite", "postgresql")):
        raise typer.Exit(1)


@bench_app.command("plan")
def bench_plan(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    instances: Annotated[int, typer.Option("--instances", help="Random optimiser instances.")] = 1000,
    repeats: Annotated[int, typer.Option("--repeats", help="Timed plans of a class of 45.")] = 5,
    weeks: Annotated[int, typer.Option("--weeks", help="Unused: learning moved to bench learn.")] = 4,
) -> None:
    """The planner: optimiser vs known optima and a class of 45 end to end (learning: bench learn)."""
    from benchmarks.plan import run

    result = run(instances=instances, repeats=repeats, weeks=weeks)
    _write_result(out, result)
    o, c = result["optimality"], result["class_45"]
    typer.echo(
        f"optimality: {o['instances']} instances, exact gap max {o['exact_gap_max']:.2g} "
        f"({o['exact_not_proven']} not proven), fallback median {o['fallback_ratio_median']:.4f} of the optimum"
    )
    typer.echo(
        f"class of 45: {c['seconds_median']:.2f} s median end to end from a cold start of the students' "
        f"states, {c['warm_seconds_median']:.2f} s with them kept (target 1.0); forests compiled once in "
        f"{c['compile_seconds']:.1f} s"
    )
    typer.echo(f"wrote {out}")


@bench_app.command("learn")
def bench_learn(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    learner: Annotated[
        list[str] | None,
        typer.Option("--learner", help="Hidden learner, module:Class (or truth, bkt); repeat for several."),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds of the students' answers.")] = 2,
    weeks: Annotated[float, typer.Option("--weeks", help="Weeks of school after the logs.")] = 2.0,
    classes: Annotated[
        str, typer.Option("--classes", help="Class ids, comma-separated.")
    ] = "east-5-1,west-8-1",
    subjects: Annotated[str, typer.Option("--subjects", help="Subjects planned and tested.")] = "math",
    policies: Annotated[
        str, typer.Option("--policies", help="Policies besides no homework, comma-separated.")
    ] = "jianfu,random,difficulty_matched,same_set,spacing,oracle",
    quick: Annotated[bool, typer.Option("--quick", help="A few days, one class, one seed (tests).")] = False,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="A saved model bundle (else fitted on data_samples).")
    ] = None,
) -> None:
    """Expected test gain over no homework (end, +14, +28 days) of jianfu and baselines from the
    same pool through the same rules and gate, under each hidden learner, with 95 % intervals."""
    from benchmarks.learn import run as run_learn

    kwargs: dict[str, Any] = {
        "learners": tuple(learner or ["truth", "bkt"]),
        "seeds": tuple(range(1, seeds + 1)),
        "weeks": weeks,
        "class_ids": tuple(classes.split(",")),
        "subjects": tuple(subjects.split(",")),
        "policies": tuple(policies.split(",")),
    }
    if quick:
        kwargs.update(seeds=(1,), weeks=0.5, class_ids=("east-5-1",))
    result = run_learn(**kwargs, bundle_dir=bundle, progress=typer.echo)
    _write_result(out, result)
    for name, r in result["learners"].items():
        typer.echo(
            f"learner {name} (start score {r['start_score']:.1f}, no homework at +14 d {r['none_score_14d']:.1f}):"
        )
        for policy, p in r["policies"].items():
            g = p["test_gain_14d"]
            typer.echo(
                f"  {policy:>18}: +{p['test_gain_end']['mean']:.2f} at the end, +{g['mean']:.2f} "
                f"[{g['ci_low']:.2f}, {g['ci_high']:.2f}] at +14 d, +{p['test_gain_28d']['mean']:.2f} at +28 d; "
                f"{p['minutes']:.0f} min; over the cap by true time {p['true_over_cap_share']:.1%}, "
                f"by the bound {p['bound_over_cap_evenings']}"
            )
        ratio = r.get("ratio_vs_best_baseline_14d")
        if ratio:
            typer.echo(
                f"  jianfu / {r['best_baseline_14d']} at +14 d: {ratio['ratio']:.2f} "
                f"[{ratio['ci_low']:.2f}, {ratio['ci_high']:.2f}] (target >= 1.30, lower bound >= 1.15)"
            )
    typer.echo(f"{result['seconds']:.0f} s; wrote {out}")


@bench_app.command("serve")
def bench_serve(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    seconds: Annotated[int, typer.Option("--seconds", help="Duration of each wrk run.")] = 15,
    connections: Annotated[int, typer.Option("--connections", help="wrk connections.")] = 16,
) -> None:
    """The service under load on loopback (2 workers, wrk) against a bare FastAPI endpoint in the same
    run; tonight's latency at a paced 100 requests/s; a class of 45 planned through HTTP."""
    from benchmarks.serve import run

    result = run(seconds=seconds, connections=connections)
    _write_result(out, result)
    tonight, plan = result["tonight"], result["class_plan_http"]
    typer.echo(
        f"bare endpoint: {result['bare']['requests_per_second']:.0f} requests/s; tonight: "
        f"{tonight['requests_per_second']:.0f} requests/s = {tonight['throughput_ratio_vs_bare']:.2f} of bare (target 0.30)"
    )
    typer.echo(
        f"tonight at {tonight['paced']['achieved_rps']:.0f} requests/s: p50 {tonight['paced']['p50_ms']:.1f} ms, "
        f"p99 {tonight['p99_ms_at_100rps']:.1f} ms (target 50), failures {tonight['paced']['failures']}"
    )
    typer.echo(f"a class of 45 planned through HTTP: {plan['seconds_median']:.2f} s median (target 1.5)")
    typer.echo(f"wrote {out}")


@bench_app.command("abuse")
def bench_abuse(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    sqlite_only: Annotated[bool, typer.Option("--sqlite-only", help="Skip the PostgreSQL run.")] = False,
    import_rows: Annotated[
        int, typer.Option("--import-rows", help="Rows of the attempts import.")
    ] = 1_000_000,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            help="Run only this scenario (repeatable): big_bodies, import, one_teacher, sign_ins.",
        ),
    ] = None,
) -> None:
    """The service (2 workers, SQLite then PostgreSQL) under abuse while students use it: 3 unauthenticated
    60 MB bodies, a 1,000,000-row import, one teacher's 40 requests at once, 200 wrong sign-ins."""
    from benchmarks.abuse import run

    result = run(
        backends=("sqlite",) if sqlite_only else ("sqlite", "postgresql"),
        import_rows=import_rows,
        say=typer.echo,
        only=tuple(scenario or ()),
    )
    _write_result(out, result)
    for name, s in result["scenarios"].items():
        missed = [k for k, ok in s["targets_met"].items() if not ok]
        typer.echo(
            f"{name:>24}: tonight p99 {s['tonight_p99_ms']} ms (target 250), /healthz p99 {s['healthz_p99_ms']} ms, "
            f"answers 5xx {s['answers_5xx']}, lost {s['answers_lost']}, memory +{s['rss_growth_mb']:.0f} MB (target 300)"
            + (f"  MISSED: {', '.join(missed)}" if missed else "")
        )
    typer.echo(f"all targets met: {result['all_targets_met']}")
    typer.echo(f"wrote {out}")


@bench_app.command("district")
def bench_district(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    schools: Annotated[int, typer.Option("--schools", min=2, help="Schools in the district.")] = 200,
    students: Annotated[
        int, typer.Option("--students", min=1, help="About this many students in all.")
    ] = 100_000,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=20, help="Weeks of homework logs.")] = 8,
    clients: Annotated[
        int, typer.Option("--clients", min=1, help="Concurrent teacher clients planning.")
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="The district sample's seed.")] = 7,
    postgres_url: Annotated[
        str | None, typer.Option("--postgres-url", help="PostgreSQL to use (default: start a throwaway one).")
    ] = None,
) -> None:
    """A district on PostgreSQL: generate and import it, plan every class and subject for one night
    through 2 replicas (evenings over the cap: target 0), the half-month district report (target
    <= 5 s and <= 1 GB), the database's size."""
    from benchmarks.district import run as run_district

    result = run_district(schools=schools, students=students, weeks=weeks, clients=clients, seed=seed,
                          postgres_url=postgres_url, say=typer.echo)  # fmt: skip
    _write_result(out, result)
    s, i, p, r = result["setup"], result["import"], result["plan_all"], result["report"]
    typer.echo(f"district: {s['schools']} schools, {s['students']:,} students, {s['weeks']} weeks "
               f"({'the full size' if s['full_size_run'] else 'NOT the full size of 200 schools / 100,000 students / 8 weeks'})")  # fmt: skip
    typer.echo(
        f"import: {i['attempts_per_second']:,.0f} attempts/s ({i['attempts']:,} in {i['seconds']:.0f} s)"
    )
    typer.echo(
        f"plan_all: {p['classes']} classes ({p['class_subjects']} class-subjects) in {p['seconds']:.0f} s with "
        f"{s['clients']} clients on 2 replicas: {p['classes_per_second_per_core']:.3f} classes/s per core, "
        f"{p['cores_for_30_minutes']} cores for this district in 30 min ({p['cores_for_full_district_30_minutes']} "
        f"for 100,000 students); {p['over_cap_evenings']} evenings over the cap (target 0), {p['failed']} plans failed"
    )
    typer.echo(f"report: {r['seconds']:.2f} s (target 5), peak {r['peak_rss_mb']:.0f} MB (target 1024)")
    typer.echo(f"database: {result['database']['size_mb']:.0f} MB")
    typer.echo(f"wrote {out}")
    if not all(result["targets_met"].values()):
        typer.echo(f"targets NOT met: {[k for k, ok in result['targets_met'].items() if not ok]}")
        raise typer.Exit(1)


def _write_result(out: Path, result: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@bench_app.command("kt")
def bench_kt(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    data: Annotated[Path, typer.Option("--data", help="The AKT assist2009_pid folder.")] = Path(
        "../shared/data/assist2009"
    ),
    cv: Annotated[bool, typer.Option("--cv", help="Also run 5-fold cross-validation.")] = False,
) -> None:
    """P(correct) on ASSISTments 2009: jianfu against IRT-1PL, Best-LR and pyBKT, same split."""
    from benchmarks.kt import run as run_kt

    result = run_kt(data, cv=cv)
    _write_result(out, result)
    for name, r in result["models"].items():
        line = f"{name:>8}: AUC {r['auc']:.4f}  accuracy {r['accuracy']:.4f}  (fold 5)"
        if cv:
            line += f"   5-fold mean AUC {result['cv_mean'][name]['auc']:.4f}"
        typer.echo(line)
    typer.echo(f"target AUC >= 0.79 and above every peer: {'met' if result['meets_target'] else 'NOT met'}")
    typer.echo(f"wrote {out}")


@bench_app.command("time")
def bench_time(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    data: Annotated[Path, typer.Option("--data", help="The EdNet KT1 folder (_u*.csv).")] = Path(
        "../shared/data/ednet_kt1_time"
    ),
    level: Annotated[float, typer.Option("--level", help="Coverage of the bound.")] = 0.95,
) -> None:
    """Evening time bound on EdNet sessions: overrun rate and bound/actual against item-median and P90 sums."""
    from benchmarks.time import run as run_time

    result = run_time(data, level=level)
    _write_result(out, result)
    for name, r in result["methods"].items():
        typer.echo(
            f"{name:>16}: overrun {r['overrun_rate']:.1%}  median bound/actual {r['median_bound_over_actual']:.2f}"
        )
    typer.echo(
        f"sessions: {result['sessions']['test']} test, {result['sessions']['calibration']} calibration"
    )
    typer.echo(
        f"target overrun <= {1 - level:.0%} and bound/actual <= 1.40, better than the P90 sum: "
        f"{'met' if result['meets_target'] else 'NOT met'}"
    )
    typer.echo(f"wrote {out}")


@bench_app.command("review")
def bench_review(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    samples: Annotated[Path, typer.Option("--samples", help="A synthetic school (contract files).")] = ROOT
    / "data_samples",
    data: Annotated[Path, typer.Option("--data", help="The EdNet KT1 folder.")] = Path(
        "../shared/data/ednet_kt1_time"
    ),
) -> None:
    """Error-book review: half-life regression against fixed 1-2-4-7 intervals and Leitner boxes."""
    from benchmarks.review import run as run_review

    result = run_review(samples, data)
    _write_result(out, result)
    for part in ("synthetic_school", "ednet"):
        for name, r in result[part]["models"].items():
            typer.echo(
                f"{part:>16} {name:>14}: log loss {r['log_loss']:.4f}  binned RMSE {r['binned_rmse']:.4f}  AUC {r['auc']:.4f}"
            )
    typer.echo(f"wrote {out}")


@bench_app.command("train")
def bench_train(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    sizes: Annotated[
        str, typer.Option("--sizes", help="Comma-separated attempt counts.")
    ] = "1000000,3000000",
) -> None:
    """Training cost: seconds and peak memory to train everything on 1M and 3M synthetic attempts."""
    from benchmarks.train import run as run_train

    result = run_train(tuple(int(s) for s in sizes.split(",")))
    _write_result(out, result)
    for n, r in result["runs"].items():
        typer.echo(
            f"{int(n):>10,} attempts: {r['seconds']:.1f}s, peak {r['peak_rss_mb']:,.0f} MB, bundle loads in {r['bundle_load_seconds']:.2f}s"
        )
    if "3M_over_1M" in result:
        typer.echo(f"3M / 1M time: {result['3M_over_1M']:.2f}")
    if "meets_target" in result:
        typer.echo(
            f"targets (1M <= 180 s, <= 4 GB, 3M <= 3.5 x 1M, load < 2 s): {'met' if result['meets_target'] else 'NOT met'}"
        )
    typer.echo(f"wrote {out}")


@app.command("train")
def train(
    data: Annotated[Path, typer.Option("--data", help="A folder of contract files to learn from.")] = ROOT
    / "data_samples",
    tracking_uri: TrackingOpt = None,
    engine: Annotated[str, typer.Option("--engine", help="local, or dask (with --scheduler).")] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address.")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Train the correctness, time and review models, log an MLflow run, register a version. Students
    deleted on a guardian's request (the database's deletion records) are left out."""
    from service.settings import get_settings
    from training.loaders import DataError
    from training.pipeline import train as run_training

    fit_booster = None
    if engine == "dask":
        if not scheduler:
            raise typer.BadParameter("--engine dask needs --scheduler ADDRESS", param_hint="--scheduler")
        from training.distributed import dask_booster_fitter

        fit_booster = dask_booster_fitter(scheduler)
    elif engine != "local":
        raise typer.BadParameter(f"unknown engine {engine!r}: local or dask", param_hint="--engine")
    uri = _tracking(tracking_uri)
    deleted = _deleted_students(database)
    try:
        result = run_training(
            data, uri, fit_booster, engine, artifact_location=get_settings().local_artifacts(),
            leave_out=deleted,
        )  # fmt: skip
    except DataError as exc:
        typer.echo(f"无法训练 / cannot train: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"registered {result['version']} of model 'jianfu' (run {result['run_id']}, {result['seconds']}s)"
    )
    for name, value in result["metrics"].items():
        typer.echo(f"  {name}: {value:.4f}")
    for note in result["notes"]:
        typer.echo(f"  note: {note}")
    typer.echo(f"tracking: {uri}")


@models_app.command("list")
def models_list(tracking_uri: TrackingOpt = None) -> None:
    """Registered versions with their aliases and holdout metrics."""
    from models.registry import RegistryError, list_versions

    try:
        versions = list_versions(_tracking(tracking_uri))
    except RegistryError as exc:
        typer.echo(f"模型库不可用 / the model registry failed: {exc}", err=True)
        raise typer.Exit(1) from None
    if not versions:
        typer.echo("no versions yet: run `jianfu train`")
    for v in versions:
        metrics = "  ".join(
            f"{k}={v['metrics'][k]:.4f}"
            for k in ("auc", "calibration_rmse", "overrun_rate")
            if k in v["metrics"]
        )
        aliases = f" [{', '.join(v['aliases'])}]" if v["aliases"] else ""
        typer.echo(f"version {v['version']}{aliases}  {metrics}  run {v['run_id']}")


@models_app.command("health")
def models_health(
    days: Annotated[int, typer.Option("--days", min=1, max=92, help="Nights in the window.")] = 14,
    until: Annotated[
        str | None,
        typer.Option("--until", help="The window's last night (default: the latest with answers)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the whole answer as JSON here.")
    ] = None,
    database: DatabaseOpt = None,
    tracking_uri: TrackingOpt = None,
) -> None:
    """The champion on live data: calibration, time-bound coverage, answer sources; exit 3 if flagged."""
    from datetime import date

    from models.registry import RegistryError, champion_version, load_version
    from service.model_health import model_health

    uri = _tracking(tracking_uri)
    try:
        version = champion_version(uri)
        bundle = None if version is None else load_version(uri, version)
    except RegistryError as exc:
        typer.echo(f"模型库不可用 / the model registry failed: {exc}", err=True)
        raise typer.Exit(1) from None
    if bundle is None:
        typer.echo(
            "还没有冠军模型 / no champion yet: run `jianfu train` and `jianfu models promote`", err=True
        )
        raise typer.Exit(1)
    try:
        last = date.fromisoformat(until) if until else None
    except ValueError:
        typer.echo(f"--until: 日期应为 YYYY-MM-DD / a date is YYYY-MM-DD, not {until!r}", err=True)
        raise typer.Exit(2) from None
    health = model_health(db=_engine(database), bundle=bundle, version=str(version), schools=None, days=days,
                          until=last)  # fmt: skip
    reference = "n/a" if health.reference_ece is None else f"{health.reference_ece:.4f}"
    typer.echo(f"version {health.version}, nights {health.start} … {health.until}: {health.answers} answers "
               f"(registered with calibration error {reference})")  # fmt: skip
    for g in health.groups:
        sources = ", ".join(f"{s} {share:.0%}" for s, share in g.sources.items())
        typer.echo(
            f"  {g.school_id} {g.subject}: {g.answers} answers, calibration error {g.ece:.4f} ({sources})"
        )
    for c in health.coverage:
        timed = "n/a" if c.timed_within_bound is None else f"{c.timed_within_bound:.1%}"
        said = "n/a" if c.reported_within_bound is None else f"{c.reported_within_bound:.1%}"
        typer.echo(f"  {c.school_id}: bound covered {timed} of {c.timed_evenings} timed evenings, "
                   f"{said} of {c.reported_evenings} reported (target {health.coverage_target:.0%})")  # fmt: skip
    if out is not None:
        _write_result(out, health.model_dump(mode="json"))
    for flag in health.flags:
        typer.echo(f"提示 / flag: {flag.detail_zh} / {flag.detail}", err=True)
    if health.flags:
        raise typer.Exit(3)
    if not health.answers:
        typer.echo("no answers in the window: nothing to judge (--until names another window)")


@models_app.command("promote")
def models_promote(
    version: Annotated[int, typer.Argument(help="The version to promote.")],
    alias: Annotated[str, typer.Option("--alias", help="The alias to point at it.")] = "champion",
    force: Annotated[bool, typer.Option("--force", help="Promote even if the gate says no.")] = False,
    tracking_uri: TrackingOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Point an alias at a version; refused if it is worse than the alias's current version on the holdout."""
    from models.registry import RegistryError
    from training.pipeline import PromotionRefused, promote

    try:
        result = promote(
            _tracking(tracking_uri), version, alias, force, leave_out=_deleted_students(database)
        )
    except PromotionRefused as exc:
        typer.echo(f"拒绝 / refused: {exc}", err=True)
        raise typer.Exit(1) from None
    except RegistryError as exc:
        typer.echo(f"模型库不可用 / the model registry failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"version {version} is now {alias!r}")
    if result.get("overridden"):
        typer.echo("  (forced past the gate: " + "; ".join(result["overridden"]) + ")")


@app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Check files (JSON: a set and its context).")],
    lang: Annotated[str, typer.Option("--lang", help="zh, en or both.")] = "both",
) -> None:
    """Verify homework sets against every HARD rule. Exit 1 if any set breaks a rule, 2 if a file is bad."""
    from service.policy.checkfile import CheckFileError, read_check
    from service.policy.verifier import verify

    if lang not in ("zh", "en", "both"):
        raise typer.BadParameter("--lang must be zh, en or both")
    worst = 0
    for path in files:
        try:
            req = read_check(path)
        except CheckFileError as exc:
            for problem in exc.problems:
                typer.echo(problem, err=True)
            worst = 2
            continue
        found = verify(req.hw_set, req.student, req.klass, req.evening, req.policy)
        if not found:
            typer.echo(f"{path}: OK 符合全部规定 / passes every rule")
            continue
        worst = max(worst, 1)
        typer.echo(f"{path}: {len(found)} 处违规 / violation(s)")
        for v in found:
            item = f" [{v.item_id}]" if v.item_id else ""
            if lang in ("zh", "both"):
                typer.echo(f"  {v.rule}{item} {v.zh}")
            if lang in ("en", "both"):
                typer.echo(f"  {v.rule}{item} {v.en}")
    if worst:
        raise typer.Exit(worst)


DEMO_CLASS = "east-5-1"


def demo_accounts(engine: Any) -> list[tuple[str, str, str, str]]:
    """Accounts to try the embedded default with, made once (development only): (username, password,
    role, what it may see). Passwords are random and shown once; `jianfu users add` makes real ones."""
    import secrets

    from sqlalchemy import select

    from service.auth import create_user
    from service.store import tables as t

    with engine.connect() as conn:
        if conn.execute(select(t.users.c.user_id).limit(1)).first() is not None:
            return []
        klass = conn.execute(select(t.classes).where(t.classes.c.class_id == DEMO_CLASS)).first()
        if klass is None:
            return []
        student = conn.execute(
            select(t.students.c.student_id)
            .where(t.students.c.class_id == DEMO_CLASS)
            .order_by(t.students.c.student_id)
            .limit(1)
        ).scalar_one()
    made = []
    for username, role, scopes, sees in (
        ("teacher-math", "teacher", [("class", DEMO_CLASS, "math")], f"{DEMO_CLASS} math"),
        ("head-teacher", "head_teacher", [("class", DEMO_CLASS, "")], DEMO_CLASS),
        ("student", "student", [("student", student, "")], student),
        ("parent", "parent", [("student", student, "")], student),
        ("data-team", "data_team", [], "imports, model, exports"),
    ):
        password = secrets.token_urlsafe(9)
        create_user(engine, username, password, role, scopes=scopes)
        made.append((username, password, role, sees))
    return made


def try_it(base: str, accounts: list[tuple[str, str, str, str]], student: str, night: str) -> str:
    """curl commands that work as written against the freshly started service."""
    pw = {u: p for u, p, _, _ in accounts}
    token = (
        "curl -s -X POST {base}/v1/token -d username={u} -d password={p} "
        "| python3 -c 'import sys, json; print(json.load(sys.stdin)[\"access_token\"])'"
    )
    lines = [
        "Try it (in another terminal):",
        f"  T=$({token.format(base=base, u='teacher-math', p=pw['teacher-math'])})",
        f'  curl -s -X POST {base}/v1/classes/{DEMO_CLASS}/plans -H "Authorization: Bearer $T" '
        f'-H \'Content-Type: application/json\' -d \'{{"subject": "math", "night": "{night}"}}\'',
        f'  curl -s -X POST {base}/v1/classes/{DEMO_CLASS}/publish -H "Authorization: Bearer $T" '
        f'-H \'Content-Type: application/json\' -d \'{{"subject": "math", "night": "{night}"}}\'',
        f"  S=$({token.format(base=base, u='student', p=pw['student'])})",
        f"  curl -s '{base}/v1/students/{student}/tonight?night={night}' -H \"Authorization: Bearer $S\"",
        f'  curl -s -X POST {base}/v1/students/{student}/attempts -H "Authorization: Bearer $S" '
        f'-H \'Content-Type: application/json\' -d \'{{"attempts": [{{"event_id": "try-1", '
        f'"item_id": "math-g5-01-001", "night": "{night}", "submitted_at": "{night}T19:30:00+08:00", '
        f'"correct": false, "seconds": 120}}]}}\'',
        f'  curl -s {base}/v1/students/{student}/error-book -H "Authorization: Bearer $S"',
        f"  P=$({token.format(base=base, u='parent', p=pw['parent'])})",
        f"  curl -s '{base}/v1/classes/{DEMO_CLASS}/notice?week_of={night}' -H \"Authorization: Bearer $P\"",
        f"Pages for people: {base}/ (sign in as teacher-math, head-teacher, student or parent)",
        f"API documentation: {base}/docs",
    ]
    return "\n".join(lines)


@app.command("run")
def run(
    data: Annotated[Path, typer.Option("--data", help="The school data to load.")] = ROOT / "data_samples",
    database: DatabaseOpt = None,
    tracking_uri: TrackingOpt = None,
    serve_it: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the service afterwards.")
    ] = True,
) -> None:
    """The main job: set up the embedded database, load the school data, (once) train the models on it
    and make that version the champion, then start the service and print how to try it."""
    # MLflow's table set-up and registry chatter kept off the terminal (read when MLflow is imported)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from jianfu.stages import IMPORT_SECONDS_PER_MB, TRAIN_SECONDS_PER_ATTEMPTS_MB, Stage, Stages
    from models.registry import RegistryError, champion_version
    from service.settings import get_settings
    from training.pipeline import promote
    from training.pipeline import train as run_training

    settings = get_settings()
    megabytes = sum(p.stat().st_size for p in data.glob("*.csv")) / 1e6 if data.is_dir() else 1.0
    attempts = data / "attempts.csv"
    stages = [
        Stage("database", "准备数据库", "database", 1.0),
        Stage("import", "检查并导入学校数据", "checking and importing the school's data",
              max(1.0, IMPORT_SECONDS_PER_MB * megabytes)),
        Stage("models", "模型（首次：训练并注册）", "models (first time: train and register)",
              max(5.0, TRAIN_SECONDS_PER_ATTEMPTS_MB * attempts.stat().st_size / 1e6) if attempts.exists() else 5.0),
        Stage("accounts", "试用账号", "accounts to try it with", 1.0),
    ]  # fmt: skip
    made: list[tuple[str, str, str, str]] = []
    with Stages(stages) as bar:
        with bar.stage("database"):
            engine = _engine(database)
        bar.print(f"database: {engine.url.render_as_string(hide_password=True)}")
        with bar.stage("import"):
            _import([data], database, None, 100, dry_run=False, bar=False)
        with bar.stage("models"):
            uri = _tracking(tracking_uri)
            try:
                champion = champion_version(uri)
            except RegistryError as exc:  # unreachable is not "no champion yet": do not train over it
                typer.echo(f"模型库不可用 / the model registry failed: {exc}", err=True)
                raise typer.Exit(1) from None
            if champion is not None:
                bar.print(f"models: version {champion} of 'jianfu' is the champion ({uri})")
            else:
                bar.print("models: no champion yet; training on the school data …")
                deleted = _deleted_students(database)
                chatter = io.StringIO()  # MLflow prints its registrations; shown only if training fails
                try:
                    with contextlib.redirect_stderr(chatter):
                        result = run_training(data, uri, artifact_location=settings.local_artifacts(),
                                              leave_out=deleted)  # fmt: skip
                        promote(uri, result["version"], "champion", leave_out=deleted)
                except BaseException:
                    sys.stderr.write(chatter.getvalue())
                    raise
                bar.print(
                    f"models: version {result['version']} trained in {result['seconds']}s and made champion ({uri})"
                )
        if settings.environment == "development":
            with bar.stage("accounts"):
                made = demo_accounts(engine)
    if settings.environment == "development":
        if made:
            typer.echo("accounts to try it with (development only; shown once, keep them):")
            for username, password, role, sees in made:
                typer.echo(f"  {username:<13} {password:<14} {role:<13} {sees}")
            student = next(s for _, _, role, s in made if role == "student")
            base = f"http://{settings.host}:{settings.port}"
            typer.echo(try_it(base, made, student, "2026-11-10"))
        else:
            typer.echo("accounts: already made (jianfu users list; jianfu users add for more)")
    if serve_it:
        serve(database=database, tracking_uri=tracking_uri)


@app.command("serve")
def serve(database: DatabaseOpt = None, tracking_uri: TrackingOpt = None) -> None:
    """Start the web service (settings from JIANFU_* variables; see the README)."""

    import uvicorn

    from service.settings import get_settings

    if database:
        os.environ["JIANFU_DATABASE_URL"] = database
    if tracking_uri:
        os.environ["JIANFU_MLFLOW_TRACKING_URI"] = tracking_uri
    get_settings.cache_clear()
    settings = get_settings()
    settings.signing_key()  # refuse to start without a key outside development
    settings.erasure_key()
    typer.echo(
        f"serving on http://{settings.host}:{settings.port} ({settings.workers} worker(s)); Ctrl-C stops"
    )
    uvicorn.run(
        "service.app:create_app", factory=True, host=settings.host, port=settings.port,
        workers=settings.workers, log_config=None,
        # X-Forwarded-For names the client (sign-in's per-address back-off) only from trusted proxies
        proxy_headers=bool(settings.forwarded_allow_ips), forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )  # fmt: skip


users_app = typer.Typer(help="Accounts: who may sign in and what they may see.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The name to sign in with (no real name needed).")],
    role: Annotated[
        str,
        typer.Option(
            "--role", help="student, parent, teacher, head_teacher, school_admin, data_team, district"
        ),
    ],
    student: Annotated[
        list[str], typer.Option("--student", help="A student (for a student or parent).")
    ] = [],  # noqa: B006
    klass: Annotated[
        list[str], typer.Option("--class", help="CLASS or CLASS:SUBJECT (teacher, head teacher).")
    ] = [],  # noqa: B006
    school: Annotated[
        list[str], typer.Option("--school", help="A school (for a school administrator).")
    ] = [],  # noqa: B006
    district: Annotated[
        list[str], typer.Option("--district", help="A district (for a district / 教育局 account).")
    ] = [],  # noqa: B006
    database: DatabaseOpt = None,
) -> None:
    """Create an account; the password is read from the terminal (or JIANFU_NEW_PASSWORD)."""

    from service.auth import AccountError, create_user

    password = os.environ.get("JIANFU_NEW_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    scopes = [("student", s, "") for s in student] + [("school", s, "") for s in school]
    scopes += [("district", d, "") for d in district]
    for entry in klass:
        class_id, _, subject = entry.partition(":")
        scopes.append(("class", class_id, subject))
    try:
        user_id = create_user(_engine(database), username, password, role, scopes=scopes)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {username} ({role}), id {user_id}")


@users_app.command("list")
def users_list(database: DatabaseOpt = None) -> None:
    """The accounts and what each may see (never passwords)."""
    from sqlalchemy import select

    from service.store import tables as t

    with _engine(database).connect() as conn:
        scopes: dict[str, list[str]] = {}
        for user_id, kind, ref, subject in conn.execute(select(t.user_scopes)):
            scopes.setdefault(user_id, []).append(f"{kind}:{ref}" + (f":{subject}" if subject else ""))
        for u in conn.execute(select(t.users).order_by(t.users.c.username)):
            state = " (disabled)" if u.disabled else ""
            typer.echo(f"{u.username:<20} {u.role:<13} {' '.join(scopes.get(u.user_id, [])) or '-'}{state}")


archive_app = typer.Typer(
    help="The trusted archive (R2): published sets, notices, reports.", no_args_is_help=True
)
app.add_typer(archive_app, name="archive")


def _expected_head(value: str) -> tuple[int, str]:
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise typer.BadParameter(
            f"--expect {value!r}：应为 序号:64位十六进制哈希 / should be SEQ:HASH (64 hex digits), as verify printed it"
        )
    return int(seq), digest


@archive_app.command("verify")
def archive_verify(
    database: DatabaseOpt = None,
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect", help="A head printed by an earlier verify (SEQ:HASH) that must still be there."
        ),
    ] = None,
) -> None:
    """Check the archive's hash chain and every personal part against its commitment; exit 1 naming
    the first bad entry. Parts erased on a guardian's request are counted as erased, not as tampering."""
    from service.store.archive import verify

    heads = [_expected_head(v) for v in expect or []]
    engine = _engine(database)
    try:
        with engine.connect() as conn:
            verdict = verify(conn, expect=heads)
    finally:
        engine.dispose()
    first = verdict.first
    if first is not None:
        typer.echo(f"存档校验失败 / the archive does not verify: {first.line()}", err=True)
        if len(verdict.problems) > 1:
            more = len(verdict.problems) - 1
            typer.echo(f"另有 {more} 处问题 / {more} more problem(s):", err=True)
            for problem in sorted(verdict.problems, key=lambda p: p.seq)[1:21]:
                typer.echo(f"  {problem.line()}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"存档完好 / the archive verifies: {verdict.entries} 条 entries, {verdict.parts} 份个人数据 personal parts "
        f"({len(verdict.erased_parts)} 份应监护人要求已删除 erased on a guardian's request)"
    )
    typer.echo(f"链头 / head: {verdict.head_seq}:{verdict.head_hash}  (记下它，日后用 --expect 核对 / keep it "
               f"outside the database and check it later with --expect)")  # fmt: skip


districts_app = typer.Typer(help="Districts (教育局) and the schools each oversees.", no_args_is_help=True)
app.add_typer(districts_app, name="districts")
report_app = typer.Typer(help="Reports as documents.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@districts_app.command("add")
def districts_add(
    district_id: Annotated[str | None, typer.Argument(help="The district's id (or give --file).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Its name, e.g. 西湖区教育局.")] = None,
    school: Annotated[list[str], typer.Option("--school", help="A school it oversees (repeat).")] = [],  # noqa: B006
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="A district.json as `data sample --district` writes: {district_id, name, schools}."
        ),
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Create or replace a district and the schools it oversees (a school moves here from another)."""
    from service import district
    from service.errors import DomainError

    if file is not None:
        try:
            spec = json.loads(file.read_text(encoding="utf-8"))
            district_id, name, school = spec["district_id"], spec["name"], list(spec["schools"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            typer.echo(f"error: {file}: 应为 {{district_id, name, schools}} / expected {{district_id, name, schools}}: {exc}",
                       err=True)  # fmt: skip
            raise typer.Exit(1) from None
    if not district_id or not name:
        typer.echo(
            "error: 需要教育局编号和 --name / a district id and --name are needed (or --file)", err=True
        )
        raise typer.Exit(1)
    try:
        schools = district.save_district(
            db=_engine(database), district_id=district_id, name=name, schools=school
        )
    except DomainError as exc:
        typer.echo(f"error: {exc.zh} / {exc.en}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"district {district_id} ({name}): {len(schools)} schools")


@report_app.command("district")
def report_district(
    out: Annotated[Path, typer.Option("--out", help="FILE.pdf or FILE.xlsx.")],
    account: Annotated[str, typer.Option("--as", help="The district account signing the report off.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First evening (default: half a month ago).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last evening (default: today, the schools' date).")
    ] = None,
    district_id: Annotated[
        str | None, typer.Option("--district", help="Default: the account's district.")
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """The district's half-monthly report (figures per school with a chart), signed off by a district
    account and the time, appended to the archive (R2). Nothing in it is about one student."""
    from datetime import UTC, date, datetime

    from sqlalchemy import select

    from service import district, district_report
    from service.errors import DomainError
    from service.policy.policy import PolicyBook
    from service.store import tables as t

    suffix = out.suffix.lower().lstrip(".")
    if suffix not in ("pdf", "xlsx"):
        raise typer.BadParameter(f"--out {out}: 应以 .pdf 或 .xlsx 结尾 / must end in .pdf or .xlsx")
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError as exc:
        raise typer.BadParameter(f"--from/--to: 日期应为 YYYY-MM-DD / a date is YYYY-MM-DD ({exc})") from None
    settings = get_settings()
    engine = _engine(database)
    with engine.connect() as conn:
        user = conn.execute(
            select(t.users.c.user_id, t.users.c.role).where(t.users.c.username == account)
        ).first()
        mine = sorted(
            conn.execute(
                select(t.user_scopes.c.ref_id).where(
                    t.user_scopes.c.user_id == (user.user_id if user else ""),
                    t.user_scopes.c.kind == "district",
                )
            ).scalars()
        )
    if user is None or user.role != "district" or not mine or (district_id and district_id not in mine):
        typer.echo(f"error: {account!r} 不是{'该' if district_id else ''}教育局的账号 / is not an account of "
                   f"{district_id or 'a district'}", err=True)  # fmt: skip
        raise typer.Exit(1)
    district_id = district_id or mine[0]
    try:
        default_start, default_end = district.default_period(db=engine, district_id=district_id)
        made = district_report.make_report(
            db=engine, book=PolicyBook(settings.policy_dir), district_id=district_id,
            start=first or default_start, end=last or default_end, min_class_size=settings.district_min_class_size,
            file_format=suffix, username=account, now=datetime.now(UTC), font=settings.pdf_font,  # type: ignore[arg-type]
            cjk_font=settings.pdf_cjk_font,
        )  # fmt: skip
    except DomainError as exc:
        typer.echo(f"error: {exc.zh} / {exc.en}", err=True)
        raise typer.Exit(1) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(made.content)
    tmp.replace(out)  # never a half-written report under its name
    archived = f"archive entry {made.archived.seq}" if made.archived else "already in the archive"
    typer.echo(f"wrote {out} ({made.summary.start} – {made.summary.end}, {len(made.summary.schools)} schools), "
               f"sha256 {made.sha256}, {archived}")  # fmt: skip


scans_app = typer.Typer(help="Scanned worksheets coming back (issue 16).", no_args_is_help=True)
app.add_typer(scans_app, name="scans")


@scans_app.command("import")
def scans_import(
    paths: Annotated[
        list[Path], typer.Argument(help="Scanner PDFs and phone photos (JPEG/PNG).", show_default=False)
    ],
    database: DatabaseOpt = None,
    by: Annotated[str, typer.Option("--by", help="Who imports (recorded on reports and reviews).")] = "cli",
) -> None:
    """Read marked worksheets and store what is certain: attempts (source paper), error book, the
    evening's time; unclear boxes go to the review queue, unreadable pages are listed."""
    from datetime import UTC, datetime

    from service import scans
    from service.errors import DomainError

    engine = _engine(database)
    try:
        summary = scans.import_scans(db=engine, key=get_settings().sheet_key(), paths=paths, by=by,
                                     now=datetime.now(UTC))  # fmt: skip
    except DomainError as exc:
        typer.echo(f"{exc.zh}\n{exc.en}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    result = summary.as_dict()
    for u in result["unreadable"]:
        typer.echo(f"未能读取 unreadable: {u['source']}: {u['problem_zh']} / {u['problem']}")
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "unreadable"}, ensure_ascii=False))


@bench_app.command("scan")
def bench_scan(
    out: Annotated[Path, typer.Option("--out", help="JSON result file.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the marks and the degradation.")] = 16,
    school: Annotated[
        Path | None,
        typer.Option(
            "--school",
            help="A SQLite file with east-5-1's maths sets for 2026-11-10 published "
            "(default: made here, training the planner's models first).",
        ),
    ] = None,
) -> None:
    """Scanned worksheets: every page of a class's 45 maths sheets (1-3 pages a student), marked and
    degraded three ways (flatbed 300 and 150 dpi, phone photos), read back; the targets of issue 16."""
    from benchmarks.scan import run as run_scan

    result = run_scan(seed=seed, school_db=school)
    _write_result(out, result)
    for name, r in result["conditions"].items():
        typer.echo(f"{name:>15}: {r['boxes']} boxes, certain correct {r['read_correct_share']:.4f}, wrong-certain "
                   f"{r['wrong_certain']}, uncertain {r['uncertain_share']:.2%}, misattributed "
                   f"{r['pages_misattributed']}, {r['pages_per_second']:.1f} pages/s")  # fmt: skip
    typer.echo(f"wrote {out}")


def main() -> None:
    app(prog_name="jianfu")


if __name__ == "__main__":
    main()

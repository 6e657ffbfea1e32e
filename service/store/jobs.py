"""The jobs table: work that outlives its request (service.jobs says what a job is).

A job is "active" while queued or running and its runner's heartbeat is fresh. Starting one takes a
lock across processes and replicas (db.serialise) so that two requests cannot both find no active
job of their school and both start one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, or_, select, update

from service.store import tables as t
from service.store.db import JOBS_LOCK_KEY, serialise, writing

ACTIVE = ("queued", "running")
EVERY_SCHOOL = "*"


def start(
    engine: Engine, *, job: dict[str, Any], is_dead: Callable[[str | None, datetime], bool],
    interrupted: dict[str, Any],
) -> dict[str, Any] | None:  # fmt: skip
    """Insert `job` (queued) unless an active job of its kind holds its school (EVERY_SCHOOL holds
    every school): then that job, and nothing is inserted. Jobs whose runner is certainly dead are
    marked interrupted first (with `interrupted` as their problems)."""
    with engine.connect() as conn:
        serialise(conn, JOBS_LOCK_KEY)
        try:
            _interrupt(conn, is_dead, job["created_at"], interrupted)
            school = t.jobs.c.school_id
            same_school = (
                school.is_not(None)
                if job["school_id"] == EVERY_SCHOOL
                else or_(school == job["school_id"], school == EVERY_SCHOOL)
            )
            holder = conn.execute(
                select(t.jobs).where(t.jobs.c.kind == job["kind"], t.jobs.c.state.in_(ACTIVE), same_school)
                .order_by(t.jobs.c.created_at).limit(1)
            ).mappings().first()  # fmt: skip
            if holder is not None:
                conn.rollback()
                return dict(holder)
            conn.execute(t.jobs.insert().values(**job))
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    return None


def get(engine: Engine, job_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(t.jobs).where(t.jobs.c.job_id == job_id)).mappings().first()
    return None if row is None else dict(row)


def states(engine: Engine, job_ids: Sequence[str]) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(t.jobs.c.job_id, t.jobs.c.state).where(t.jobs.c.job_id.in_(job_ids)))
        return {r.job_id: r.state for r in rows}


def change(engine: Engine, job_id: str, *, only_if_active: bool = False, **values: Any) -> bool:
    """Set a job's columns (in a short write transaction); with only_if_active, only while it is
    queued or running (a job marked interrupted by a replica stays so). True if it was changed."""
    query = update(t.jobs).where(t.jobs.c.job_id == job_id)
    if only_if_active:
        query = query.where(t.jobs.c.state.in_(ACTIVE))
    with writing(engine) as conn:
        return bool(conn.execute(query.values(**values)).rowcount)


def beat(engine: Engine, beats: dict[str, dict[str, Any]], now: datetime) -> None:
    """The runner's heartbeat: each active job's heartbeat time and progress, in one transaction."""
    with writing(engine) as conn:
        for job_id, progress in beats.items():
            conn.execute(
                update(t.jobs)
                .where(t.jobs.c.job_id == job_id, t.jobs.c.state.in_(ACTIVE))
                .values(heartbeat_at=now, progress=progress)
            )


def remove(engine: Engine, job_id: str) -> None:
    with writing(engine) as conn:
        conn.execute(delete(t.jobs).where(t.jobs.c.job_id == job_id))


def interrupt_dead(
    engine: Engine, *, is_dead: Callable[[str | None, datetime], bool], now: datetime,
    interrupted: dict[str, Any],
) -> list[str]:  # fmt: skip
    """Mark interrupted every active job whose runner is certainly dead; their ids."""
    with writing(engine) as conn:
        return _interrupt(conn, is_dead, now, interrupted)


def _interrupt(
    conn: Connection, is_dead: Callable[[str | None, datetime], bool], now: datetime,
    interrupted: dict[str, Any],
) -> list[str]:  # fmt: skip
    active = conn.execute(
        select(t.jobs.c.job_id, t.jobs.c.runner, t.jobs.c.heartbeat_at).where(t.jobs.c.state.in_(ACTIVE))
    ).all()
    dead = [r.job_id for r in active if is_dead(r.runner, r.heartbeat_at)]
    if dead:
        conn.execute(
            update(t.jobs)
            .where(and_(t.jobs.c.job_id.in_(dead), t.jobs.c.state.in_(ACTIVE)))
            .values(state="interrupted", finished_at=now, problems=interrupted)
        )
    return dead

"""Watching the champion on live data (issue 20): is P(correct) still calibrated on the answers
that came in, does the time bound still cover real evenings, who marked the answers.

For the schools an account may see, over the last `days` school nights up to `until` (default: the
latest night with answers, not after today), per school and subject:
- the expected calibration error of P(correct) (models.calibration, the figure training registers a
  version with, `ece`) and its reliability curve — every answer's features replayed from the
  student's whole history before it, exactly as training's evaluation and the planner's states do;
- the share of answers by source (app, paper, teacher, import);
and per school:
- the coverage of the evening time bound on real evenings: the model's bound for each sitting of
  timed answers against the seconds it took (target ≥ 95 %), and, where families reported an
  evening (R4) and the night had published sets, the reported minutes against the sets' bound.

Flags: coverage below 93 % (with enough evenings to tell), or a calibration error more than twice the
error the version was registered with, beyond what chance alone gives that many answers
(models.calibration.chance_error). Read only; nothing is written."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from models.bundle import Bundle
from models.calibration import chance_error, expected_calibration_error, reliability
from models.duration import evening_rows, replay_time, sessions_of
from models.features import AnswerLog, feature_matrix
from service.errors import Invalid
from service.planner.context import item_info
from service.schemas import HealthFlag, HealthGroup, ModelHealth, ReliabilityBin, SchoolCoverage
from service.store import tables as t
from service.store.queries import HANDED_OUT

COVERAGE_TARGET = 0.95
COVERAGE_FLAG = 0.93
ECE_FLAG_RATIO = 2.0
MIN_ANSWERS = 200  # fewer answers in a group: its calibration error is shown, not flagged
MIN_EVENINGS = 30  # fewer evenings: coverage shown, not flagged
EVENING_GAP_MINUTES = 30.0


@dataclass
class _Log:
    schools: list[str]
    subjects: list[str]
    sources: list[str]
    nights: list[date]
    log: AnswerLog
    fingerprint: list[tuple[Any, ...]]  # (event, correct, seconds) of every answer, in order


def _among(schools: Sequence[str] | None) -> list[Any]:
    return [] if schools is None else [t.classes.c.school_id.in_(sorted(schools))]


def _read(db: Engine, schools: Sequence[str] | None) -> _Log:
    query = (
        select(t.attempts.c.event_id, t.attempts.c.student_id, t.attempts.c.item_id, t.attempts.c.correct,
               t.attempts.c.submitted_at,
               t.attempts.c.seconds, t.attempts.c.night, t.attempts.c.source, t.classes.c.school_id,
               t.items.c.subject)
        .join(t.students, t.students.c.student_id == t.attempts.c.student_id)
        .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
        .join(t.items, t.items.c.item_id == t.attempts.c.item_id)
        .where(*_among(schools))
        .order_by(t.attempts.c.student_id, t.attempts.c.submitted_at, t.attempts.c.event_id)
    )  # fmt: skip
    with db.connect() as conn:
        info = item_info(conn)
        rows = conn.execute(query).all()
    log = AnswerLog(
        [r.student_id for r in rows], [r.item_id for r in rows], [int(r.correct) for r in rows],
        [r.submitted_at.timestamp() for r in rows],
        [float(r.seconds) if r.seconds is not None else math.nan for r in rows], info,
    )  # fmt: skip
    return _Log([r.school_id for r in rows], [r.subject for r in rows], [r.source for r in rows],
                [r.night for r in rows], log, [(r.event_id, r.correct, r.seconds) for r in rows])  # fmt: skip


def _reported(
    db: Engine, schools: Sequence[str] | None, start: date, end: date
) -> dict[str, list[tuple[float, float]]]:
    """Per school: (reported minutes, the published sets' bound) of each reported evening that had sets."""
    bound = (
        select(t.plans.c.student_id, t.plans.c.night, func.sum(t.plans.c.conservative_minutes).label("bound"))
        .where(t.plans.c.status.in_(HANDED_OUT), t.plans.c.night >= start, t.plans.c.night <= end)
        .group_by(t.plans.c.student_id, t.plans.c.night)
        .subquery()
    )
    query = (
        select(t.classes.c.school_id, t.evening_reports.c.minutes, bound.c.bound)
        .join(bound, (bound.c.student_id == t.evening_reports.c.student_id)
              & (bound.c.night == t.evening_reports.c.night))
        .join(t.students, t.students.c.student_id == t.evening_reports.c.student_id)
        .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
        .where(*_among(schools))
    )  # fmt: skip
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with db.connect() as conn:
        for r in conn.execute(query):
            out[r.school_id].append((float(r.minutes), float(r.bound)))
    return out


@dataclass(frozen=True)
class _Replayed:
    """What the whole history gives once replayed with one model: P(correct) of every answer (from
    the student's history before it) and, for every sitting with time spent, its first row and
    whether its seconds stayed within the model's evening bound. Kept per process for the latest few
    (model, answers) pairs, so asking again about other windows of the same data replays nothing."""

    p: np.ndarray
    evening_first: list[int]
    evening_within: list[bool]
    bundle: Bundle  # held while kept: its id() in the key is never another model's


_REPLAYED: OrderedDict[tuple[Any, ...], _Replayed] = OrderedDict()
_REPLAYED_KEPT = 4
_REPLAYED_LOCK = threading.Lock()


def _replayed(data: _Log, bundle: Bundle, version: str) -> _Replayed:
    key = (version, id(bundle), hash(tuple(data.fingerprint)))
    with _REPLAYED_LOCK:
        if key in _REPLAYED:
            _REPLAYED.move_to_end(key)
            return _REPLAYED[key]
    # One pass over the whole history: each answer's time features (as known when its sitting
    # began) and correctness features (from just before it), as training's evaluation has them.
    sessions = sessions_of(data.log, EVENING_GAP_MINUTES)
    correctness: list[list[float]] = []
    X_time = replay_time(data.log, sessions, bundle.priors, correctness)
    p = bundle.p_correct(feature_matrix(correctness)) if correctness else np.zeros(0)
    seconds = np.asarray(data.log.seconds, dtype=np.float64)
    evenings = evening_rows(data.log, sessions)
    out = _Replayed(
        p=np.asarray(p, dtype=np.float64),
        evening_first=[rows[0] for rows in evenings],
        evening_within=[
            bool(np.nansum(seconds[rows]) <= bundle.duration.set_bound(X_time[rows])) for rows in evenings
        ],
        bundle=bundle,
    )
    with _REPLAYED_LOCK:
        _REPLAYED[key] = out
        while len(_REPLAYED) > _REPLAYED_KEPT:
            _REPLAYED.popitem(last=False)
    return out


def _share(within: list[bool]) -> float | None:
    return float(np.mean(within)) if within else None


def model_health(
    *, db: Engine, bundle: Bundle, version: str, schools: Sequence[str] | None, days: int = 14,
    until: date | None = None, now: datetime | None = None,
) -> ModelHealth:  # fmt: skip
    """The champion's health on the answers of `schools` (None: every school) in the `days` nights
    up to `until`."""
    today = (now or datetime.now(UTC)).date()
    data = _read(db, schools)
    nights = np.array(data.nights, dtype="datetime64[D]")
    if until is None:
        seen = [n for n in data.nights if n <= today]
        until = max(seen) if seen else today
    if until < date(2000, 1, 1) + timedelta(days=days):
        raise Invalid(f"/until: {until} is before any homework this service can hold",
                      f"/until：{until} 早于本系统可能有的任何作业")  # fmt: skip
    start = until - timedelta(days=days - 1)
    window = (nights >= np.datetime64(start)) & (nights <= np.datetime64(until))
    reference = bundle.metrics.get("ece")
    reference = float(reference) if reference is not None and math.isfinite(reference) else None
    groups: list[HealthGroup] = []
    flags: list[HealthFlag] = []
    coverage: list[SchoolCoverage] = []
    if window.any():
        replayed = _replayed(data, bundle, version)
        p = replayed.p[window]
        y = np.asarray(data.log.correct, dtype=np.float64)[window]
        keys = list(zip(np.asarray(data.schools)[window], np.asarray(data.subjects)[window], strict=True))
        sources = np.asarray(data.sources)[window]
        by: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, key in enumerate(keys):
            by[(str(key[0]), str(key[1]))].append(i)
        for (school, subject), rows in sorted(by.items()):
            ece = expected_calibration_error(y[rows], p[rows])
            counts = {s: int((sources[rows] == s).sum()) for s in sorted(set(sources[rows]))}
            groups.append(HealthGroup(
                school_id=school, subject=subject, answers=len(rows), ece=round(ece, 4),
                reliability=[ReliabilityBin(lo=b.lo, hi=b.hi, answers=b.answers, predicted=round(b.predicted, 4),
                                            observed=round(b.observed, 4)) for b in reliability(y[rows], p[rows])],
                sources={s: round(n / len(rows), 4) for s, n in counts.items()},
            ))  # fmt: skip
            floor = chance_error(y[rows], p[rows])
            if reference and len(rows) >= MIN_ANSWERS and ece > ECE_FLAG_RATIO * reference + floor:
                flags.append(HealthFlag(
                    kind="calibration", school_id=school, subject=subject,
                    detail=f"calibration error {ece:.3f} is more than {ECE_FLAG_RATIO:g}× the {reference:.3f} "
                           f"version {version} was registered with ({len(rows)} answers)",
                    detail_zh=f"校准误差 {ece:.3f}，超过模型版本 {version} 注册时 {reference:.3f} 的 {ECE_FLAG_RATIO:g} 倍"
                              f"（{len(rows)} 条作答）",
                ))  # fmt: skip
        within_by: dict[str, list[bool]] = defaultdict(list)
        for first, within in zip(replayed.evening_first, replayed.evening_within, strict=True):
            if window[first]:  # an evening counts in the window its first answer's night is in
                within_by[data.schools[first]].append(bool(within))
        reported = _reported(db, schools, start, until)
        for school in sorted(set(within_by) | set(reported)):
            timed, said = within_by.get(school, []), reported.get(school, [])
            coverage.append(SchoolCoverage(
                school_id=school, timed_evenings=len(timed), timed_within_bound=_share(timed),
                reported_evenings=len(said), reported_within_bound=_share([m <= b for m, b in said]),
            ))  # fmt: skip
            for kind, share, n in (("timed", _share(timed), len(timed)),
                                   ("reported", _share([m <= b for m, b in said]), len(said))):  # fmt: skip
                if share is not None and n >= MIN_EVENINGS and share < COVERAGE_FLAG:
                    flags.append(HealthFlag(
                        kind="coverage", school_id=school, subject=None,
                        detail=f"the time bound covered {share:.1%} of {n} {kind} evenings "
                               f"(flagged below {COVERAGE_FLAG:.0%}; target {COVERAGE_TARGET:.0%})",
                        detail_zh=f"时间上界只覆盖了 {n} 个晚上中的 {share:.1%}（{'计时作答' if kind == 'timed' else '家长报告'}；"
                                  f"低于 {COVERAGE_FLAG:.0%} 即提示，目标 {COVERAGE_TARGET:.0%}）",
                    ))  # fmt: skip
    return ModelHealth(
        version=version, start=start, until=until, days=days, answers=int(window.sum()),
        reference_ece=reference, coverage_target=COVERAGE_TARGET, groups=groups, coverage=coverage, flags=flags,
    )  # fmt: skip

"""Features shared by training and serving: a student's state built from the homework log and the
error book, and the feature vector of (state, item) that every model reads.

Training replays each student's history through `StudentState.update`, taking `features` before each
answer; serving keeps one `StudentState` per student and calls the same `update` on each new answer
(O(1) in the history), so the two can never disagree. Item and knowledge-point difficulty come from
`Priors`, estimated from training data only (out-of-fold while training). This module never touches
the database or HTTP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DAY = 86_400.0
# Decay of the R-PFA style success/failure counts per answer on the same knowledge point.
PFA_DECAY = 0.7
# Time constants (days) of the decayed windows: about a day, a week, a month.
WINDOWS = (1.0, 7.0, 30.0)
RECENT = 8  # how many latest answers the recent pattern looks at
PRIOR_WEIGHT = 5.0  # pseudo-answers of the knowledge-point rate behind an item's own rate
ELO_K = 0.4
TIME_PRIOR_WEIGHT = 3.0  # pseudo-answers of the fallback time behind an item's own times
SPEED_DECAY = 0.9  # weight of the earlier recent-speed estimate at each timed answer

ITEM_KINDS = ("written", "oral", "reading", "practical", "physical")
SUBJECT_INDEX = {
    s: float(k) for k, s in enumerate(("chinese", "math", "english", "science", "morality", "pe", "art"))
}

# (name, monotone direction in P(correct)): +1 must not lower P when it grows, -1 must not raise it,
# 0 free. Every feature a new *correct* answer changes is +1 or -1, so one more correct answer on a
# knowledge point never lowers P(correct) on its items (a behavioural test holds the model to it).
FEATURES: tuple[tuple[str, int], ...] = (
    ("item_logit", 0),  # the item's smoothed success rate among other students, as a logit
    ("item_answers_log", 0),  # how much evidence that rate rests on
    ("kp_logit", 0),  # the same for its knowledge points (mean over them)
    ("n_kps", 0),
    ("kind", 0),  # index in ITEM_KINDS, NaN when unknown
    ("grade", 0),
    ("est_minutes_log", 0),
    ("total_right_log", 1),
    ("total_wrong_log", 0),
    ("total_rate", 1),  # smoothed own success rate over everything
    ("kp_right_log", 1),  # own answers on this item's knowledge points (summed over them)
    ("kp_wrong_log", 0),
    ("kp_rate", 1),
    ("kp_right_min_log", 1),  # the least practised of the item's knowledge points
    ("kp_decayed_right", 1),  # R-PFA: recency-weighted successes and failures on the points
    ("kp_decayed_wrong", -1),  # a new right answer decays it; so it may only lower P
    ("kp_last_correct", 1),  # the latest answer on any of the points: 1 right, 0 wrong
    ("kp_gap_answers_log", -1),  # own answers since the last one on these points
    ("kp_gap_days_log", -1),  # days since the last answer on these points (NaN without clock)
    ("item_right", 1),  # own earlier answers to this very item
    ("item_wrong", 0),
    ("right_hard", 1),  # Σ over own right answers of (1 - the item's success rate): hard ones count more
    ("wrong_easy", 0),  # Σ over own wrong answers of the item's success rate: easy ones count more
    ("kp_right_hard", 1),
    ("kp_wrong_easy", 0),
    ("elo_ability", 1),
    ("elo_kp_ability", 1),
    ("elo_p", 1),
    ("recent_right", 1),  # among the latest RECENT answers overall
    ("recent_wrong", -1),
    ("kp_recent_right", 1),  # among the latest RECENT answers on each point, summed
    ("kp_recent_wrong", -1),
    ("day_right", 1),  # answers in decayed windows of about a day, a week, a month
    ("day_wrong", 0),
    ("week_right", 1),
    ("week_wrong", 0),
    ("month_right", 1),
    ("month_wrong", 0),
    ("error_book_open_kp", 0),  # open error-book entries on these points
    ("error_book_open", 0),
    ("speed", 0),  # own log-time relative to others on the same items (0 = typical)
)
FEATURE_NAMES = tuple(name for name, _ in FEATURES)
# Features of the time model (minutes on an item): the item's typical time, the student's speed.
TIME_FEATURES = (
    "item_log_seconds",  # typical_log_seconds: own mean, shrunk towards the estimate or overall mean
    "item_log_sd",
    "item_timed_log",  # how many timed answers that rests on
    "est_minutes_log",
    "kind",
    "grade",
    "student_speed",  # mean of own (log-seconds - item typical), shrunk towards 0
    "student_speed_recent",  # the same, weighted towards recent answers
    "student_timed_log",
    "student_residual_sd",
    "kp_log_seconds",  # the other items of its knowledge points: what a new item is likely to take
    "subject",  # index in models.schema.SUBJECTS, NaN when unknown
)
MONOTONE = tuple(direction for _, direction in FEATURES)
N_FEATURES = len(FEATURES)
NAN = float("nan")


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class ItemInfo:
    """What the bank knows of an item, for cold start: its points, kind, grade, teacher estimate."""

    kps: tuple[str, ...]
    kind: str | None = None
    grade: int | None = None
    est_minutes: float | None = None
    subject: str | None = None


@dataclass
class Priors:
    """Success counts per item and per knowledge point, and log-time statistics per item, from
    training answers. An unseen item falls back on its knowledge points, an unseen point on the
    overall rate."""

    item_answers: dict[str, float] = field(default_factory=dict)
    item_right: dict[str, float] = field(default_factory=dict)
    kp_answers: dict[str, float] = field(default_factory=dict)
    kp_right: dict[str, float] = field(default_factory=dict)
    # log-seconds per item: count, sum, sum of squares (for the time model and the speed feature)
    item_time_n: dict[str, float] = field(default_factory=dict)
    item_time_sum: dict[str, float] = field(default_factory=dict)
    item_time_sq: dict[str, float] = field(default_factory=dict)
    # log-seconds per knowledge point (count, sum): how long a new item of the point is likely to take
    kp_time_n: dict[str, float] = field(default_factory=dict)
    kp_time_sum: dict[str, float] = field(default_factory=dict)
    answers: float = 0.0
    right: float = 0.0
    timed: float = 0.0  # answers with a time, and the sum and sum of squares of their log-seconds
    timed_sum: float = 0.0
    timed_sq: float = 0.0
    # Answers are read far more often than priors change: per-item results, emptied by `add`.
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_memo": {}}

    @classmethod
    def from_answers(
        cls,
        items: Sequence[str],
        kps: Sequence[Sequence[str]],
        correct: Sequence[int],
        seconds: Sequence[float] | None = None,
    ) -> Priors:
        priors = cls()
        priors.add(items, kps, correct, seconds, sign=1.0)
        return priors

    def add(
        self,
        items: Sequence[str],
        kps: Sequence[Sequence[str]],
        correct: Sequence[int],
        seconds: Sequence[float] | None = None,
        sign: float = 1.0,
    ) -> None:
        """Add (sign=1) or remove (sign=-1) answers: removing a fold gives out-of-fold priors."""
        self._memo = {}
        ia, ir, ka, kr = self.item_answers, self.item_right, self.kp_answers, self.kp_right
        for k, (item, points, y) in enumerate(zip(items, kps, correct, strict=True)):
            ia[item] = ia.get(item, 0.0) + sign
            ir[item] = ir.get(item, 0.0) + sign * y
            for kp in points:
                ka[kp] = ka.get(kp, 0.0) + sign
                kr[kp] = kr.get(kp, 0.0) + sign * y
            if seconds is not None:
                s = seconds[k]
                if s == s and s > 0:
                    t = math.log(s)
                    self.item_time_n[item] = self.item_time_n.get(item, 0.0) + sign
                    self.item_time_sum[item] = self.item_time_sum.get(item, 0.0) + sign * t
                    self.item_time_sq[item] = self.item_time_sq.get(item, 0.0) + sign * t * t
                    for kp in points:
                        self.kp_time_n[kp] = self.kp_time_n.get(kp, 0.0) + sign
                        self.kp_time_sum[kp] = self.kp_time_sum.get(kp, 0.0) + sign * t
                    self.timed += sign
                    self.timed_sum += sign * t
                    self.timed_sq += sign * t * t
        self.answers += sign * len(items)
        self.right += sign * float(sum(correct))

    def copy(self) -> Priors:
        fresh = Priors()
        fresh.__dict__.update({k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()})
        return fresh

    @property
    def rate(self) -> float:
        return (self.right + 1.0) / (self.answers + 2.0)

    def kp_rate(self, kp: str) -> float:
        n = self.kp_answers.get(kp, 0.0)
        return (self.kp_right.get(kp, 0.0) + PRIOR_WEIGHT * self.rate) / (n + PRIOR_WEIGHT)

    def item_rate(self, item: str, kps: Sequence[str]) -> float:
        """The item's smoothed success rate (an item's knowledge points never change)."""
        found = self._memo.get(("rate", item))
        if found is None:
            base = sum(self.kp_rate(k) for k in kps) / len(kps) if kps else self.rate
            n = self.item_answers.get(item, 0.0)
            found = self._memo[("rate", item)] = (self.item_right.get(item, 0.0) + PRIOR_WEIGHT * base) / (
                n + PRIOR_WEIGHT
            )
        return float(found)

    def item_log_seconds(self, item: str) -> tuple[float, float, float]:
        """(count, mean, variance) of log-seconds on the item among training answers."""
        found = self._memo.get(("time", item))
        if found is None:
            found = self._memo[("time", item)] = self._item_log_seconds(item)
        return found

    def _item_log_seconds(self, item: str) -> tuple[float, float, float]:
        n = self.item_time_n.get(item, 0.0)
        if n <= 0:
            return 0.0, NAN, NAN
        mean = self.item_time_sum[item] / n
        var = max(self.item_time_sq[item] / n - mean * mean, 0.0)
        return n, mean, var

    def kp_log_seconds(self, item: str, kps: Sequence[str]) -> float:
        """Mean log-seconds of the other items of the item's knowledge points (its own answers left
        out, so a well-timed item and a new one see the same kind of number); NaN if none."""
        found = self._memo.get(("kp_time", item))
        if found is None:
            own_n = self.item_time_n.get(item, 0.0)
            own_sum = self.item_time_sum.get(item, 0.0)
            means = []
            for kp in kps:
                n = self.kp_time_n.get(kp, 0.0) - own_n
                if n >= 1:
                    means.append((self.kp_time_sum.get(kp, 0.0) - own_sum) / n)
            found = self._memo[("kp_time", item)] = sum(means) / len(means) if means else NAN
        return float(found)

    def typical_log_seconds(self, item: str, info: ItemInfo) -> float:
        """The item's mean log-seconds, shrunk towards the teacher's estimate or the overall mean."""
        found = self._memo.get(("typical", item))
        if found is None:
            found = self._memo[("typical", item)] = self._typical_log_seconds(item, info)
        return float(found)

    def _typical_log_seconds(self, item: str, info: ItemInfo) -> float:
        if info.est_minutes:
            base = math.log(info.est_minutes * 60.0)
        elif self.timed > 0:
            base = self.timed_sum / self.timed
        else:
            return NAN
        n, mean, _ = self.item_log_seconds(item)
        return base if n <= 0 else (n * mean + TIME_PRIOR_WEIGHT * base) / (n + TIME_PRIOR_WEIGHT)


class _KP:
    """A student's record on one knowledge point."""

    __slots__ = (
        "decayed_right",
        "decayed_wrong",
        "elo",
        "last",
        "last_index",
        "last_time",
        "recent",
        "right",
        "right_hard",
        "wrong",
        "wrong_easy",
    )

    def __init__(self) -> None:
        self.right = 0
        self.wrong = 0
        self.decayed_right = 0.0
        self.decayed_wrong = 0.0
        self.last_index = -1
        self.last_time = NAN
        self.last = -1
        self.elo = 0.0
        self.recent: list[int] = []
        self.right_hard = 0.0
        self.wrong_easy = 0.0


class StudentState:
    """Everything the models know about one student, updated one answer at a time."""

    __slots__ = (
        "elo",
        "error_book",
        "index",
        "items",
        "kps",
        "recent",
        "right",
        "right_hard",
        "speed_n",
        "speed_sum",
        "time_n",
        "time_recent",
        "time_sq",
        "time_sum",
        "window_time",
        "windows",
        "wrong",
        "wrong_easy",
    )

    def __init__(self) -> None:
        self.right = 0
        self.wrong = 0
        self.index = 0
        self.elo = 0.0
        self.kps: dict[str, _KP] = {}
        self.items: dict[str, list[int]] = {}
        self.recent: list[int] = []
        self.windows = [0.0] * (2 * len(WINDOWS))  # decayed (right, wrong) per window
        self.window_time = NAN
        self.error_book: dict[str, int] = {}  # open entries per knowledge point
        self.speed_sum = 0.0
        self.speed_n = 0.0
        self.right_hard = 0.0
        self.wrong_easy = 0.0
        self.time_n = 0.0  # timed answers on items with a typical time, and their log residuals
        self.time_sum = 0.0
        self.time_sq = 0.0
        self.time_recent = 0.0

    # -- reading -----------------------------------------------------------------------------------

    def _windows_at(self, at: float) -> list[float]:
        if at != at or self.window_time != self.window_time:
            return [NAN] * len(self.windows)
        out = []
        for w, tau in enumerate(WINDOWS):
            f = math.exp(-max(at - self.window_time, 0.0) / (tau * DAY))
            out += [self.windows[2 * w] * f, self.windows[2 * w + 1] * f]
        return out

    def features(self, item: str, info: ItemInfo, priors: Priors, at: float = NAN) -> list[float]:
        """The feature vector (FEATURE_NAMES) for answering `item` at time `at` (epoch seconds)."""
        return self._row(
            item, info, priors, self._student_block(priors, at), self._kp_block(info.kps, priors, at)
        )

    def features_many(
        self, items: Sequence[tuple[str, ItemInfo]], priors: Priors, at: float = NAN
    ) -> list[list[float]]:
        """features() of many items at one time: the student's and each knowledge point's part are
        computed once (the rows are the same as features() item by item)."""
        student = self._student_block(priors, at)
        blocks: dict[tuple[str, ...], tuple[float, ...]] = {}
        rows = []
        for item, info in items:
            block = blocks.get(info.kps)
            if block is None:
                block = blocks[info.kps] = self._kp_block(info.kps, priors, at)
            rows.append(self._row(item, info, priors, student, block))
        return rows

    def _student_block(self, priors: Priors, at: float) -> tuple[list[float], list[float]]:
        """The parts of a row that depend on the student alone: (head, tail) around the item's."""
        n = self.right + self.wrong
        recent_right = sum(self.recent)
        speed = self.speed_sum / (self.speed_n + 3.0) if self.speed_n else NAN
        head = [
            math.log1p(self.right),
            math.log1p(self.wrong),
            (self.right + 2.0 * priors.rate) / (n + 2.0),
        ]
        tail = [
            self.right_hard,
            self.wrong_easy,
            float(recent_right),
            float(len(self.recent) - recent_right),
            *self._windows_at(at),
            float(sum(self.error_book.values())),
            speed,
        ]
        return head, tail

    def _kp_block(self, kps: tuple[str, ...], priors: Priors, at: float) -> tuple[float, ...]:
        """The parts of a row that depend on the student's record of the item's knowledge points."""
        kp_logit = sum(_logit(priors.kp_rate(k)) for k in kps) / len(kps) if kps else _logit(priors.rate)
        kp_right = kp_wrong = 0
        kp_right_min = math.inf
        decayed_right = decayed_wrong = 0.0
        last_index = -1
        last_time = NAN
        last = NAN
        elo_kp = 0.0
        kp_right_hard = kp_wrong_easy = 0.0
        kp_recent_right = kp_recent_n = 0
        open_kp = 0
        for k in kps:
            record = self.kps.get(k)
            open_kp += self.error_book.get(k, 0)
            if record is None:
                kp_right_min = 0
                continue
            kp_right += record.right
            kp_wrong += record.wrong
            kp_right_min = min(kp_right_min, record.right)
            decayed_right += record.decayed_right
            decayed_wrong += record.decayed_wrong
            elo_kp += record.elo
            kp_right_hard += record.right_hard
            kp_wrong_easy += record.wrong_easy
            kp_recent_right += sum(record.recent)
            kp_recent_n += len(record.recent)
            if record.last_index > last_index:
                last_index, last, last_time = record.last_index, float(record.last), record.last_time
        if kp_right_min is math.inf:
            kp_right_min = 0
        elo_kp = elo_kp / len(kps) if kps else 0.0
        gap_days = NAN
        if at == at and last_time == last_time:
            gap_days = math.log1p(max(at - last_time, 0.0) / DAY)
        return (
            kp_logit,
            kp_right,
            kp_wrong,
            kp_right_min,
            decayed_right,
            decayed_wrong,
            last,
            math.log1p(self.index - last_index - 1) if last_index >= 0 else NAN,
            gap_days,
            kp_right_hard,
            kp_wrong_easy,
            elo_kp,
            kp_recent_right,
            kp_recent_n,
            open_kp,
        )

    def _row(
        self,
        item: str,
        info: ItemInfo,
        priors: Priors,
        student: tuple[list[float], list[float]],
        block: tuple[float, ...],
    ) -> list[float]:
        (kp_logit, kp_right, kp_wrong, kp_right_min, decayed_right, decayed_wrong, last, since_last,
         gap_days, kp_right_hard, kp_wrong_easy, elo_kp, kp_recent_right, kp_recent_n, open_kp) = block  # fmt: skip
        head, tail = student
        item_rate = priors.item_rate(item, info.kps)
        item_logit = _logit(item_rate)
        item_record = self.items.get(item)
        kind = ITEM_KINDS.index(info.kind) if info.kind in ITEM_KINDS else NAN
        return [
            item_logit,
            math.log1p(priors.item_answers.get(item, 0.0)),
            kp_logit,
            float(len(info.kps)),
            kind,
            NAN if info.grade is None else float(info.grade),
            NAN if info.est_minutes is None else math.log(info.est_minutes),
            *head,
            math.log1p(kp_right),
            math.log1p(kp_wrong),
            (kp_right + 2.0 * item_rate) / (kp_right + kp_wrong + 2.0),
            math.log1p(kp_right_min),
            decayed_right,
            decayed_wrong,
            last,
            since_last,
            gap_days,
            float(item_record[0]) if item_record else 0.0,
            float(item_record[1]) if item_record else 0.0,
            tail[0],
            tail[1],
            kp_right_hard,
            kp_wrong_easy,
            self.elo,
            elo_kp,
            _sigmoid(self.elo + elo_kp - (-item_logit)),
            tail[2],
            tail[3],
            float(kp_recent_right),
            float(kp_recent_n - kp_recent_right),
            *tail[4:-2],  # the recency windows
            float(open_kp),
            *tail[-2:],
        ]

    def time_features(self, item: str, info: ItemInfo, priors: Priors) -> list[float]:
        """The time-model feature vector (TIME_FEATURES) for `item`."""
        n, _, var = priors.item_log_seconds(item)
        k = self.time_n
        mean = self.time_sum / (k + 2.0)
        spread = math.sqrt(max(self.time_sq / k - (self.time_sum / k) ** 2, 0.0)) if k >= 3 else NAN
        return [
            priors.typical_log_seconds(item, info),
            math.sqrt(var) if n >= 3 else NAN,
            math.log1p(n),
            NAN if info.est_minutes is None else math.log(info.est_minutes),
            ITEM_KINDS.index(info.kind) if info.kind in ITEM_KINDS else NAN,
            NAN if info.grade is None else float(info.grade),
            mean,
            self.time_recent if k else NAN,
            math.log1p(k),
            spread,
            priors.kp_log_seconds(item, info.kps),
            SUBJECT_INDEX.get(info.subject or "", NAN),
        ]

    # -- writing -----------------------------------------------------------------------------------

    def update(
        self,
        item: str,
        info: ItemInfo,
        correct: int,
        priors: Priors,
        at: float = NAN,
        seconds: float = NAN,
    ) -> None:
        """Take one answer into the state: O(number of the item's knowledge points)."""
        y = 1 if correct else 0
        kps = info.kps
        rate = priors.item_rate(item, kps)
        difficulty = -_logit(rate)
        elo_kp = sum(self.kps[k].elo for k in kps if k in self.kps) / len(kps) if kps else 0.0
        expected = _sigmoid(self.elo + elo_kp - difficulty)
        n = self.right + self.wrong
        self.elo += ELO_K / (1.0 + 0.05 * n) * (y - expected)
        for k in kps:
            record = self.kps.get(k)
            if record is None:
                record = self.kps[k] = _KP()
            record.elo += ELO_K / (1.0 + 0.1 * (record.right + record.wrong)) * (y - expected)
            record.right += y
            if y:
                record.right_hard += 1.0 - rate
            else:
                record.wrong_easy += rate
            record.wrong += 1 - y
            record.decayed_right = record.decayed_right * PFA_DECAY + y
            record.decayed_wrong = record.decayed_wrong * PFA_DECAY + (1 - y)
            record.last_index = self.index
            record.last_time = at
            record.last = y
            record.recent.append(y)
            if len(record.recent) > RECENT:
                del record.recent[0]
        item_record = self.items.get(item)
        if item_record is None:
            self.items[item] = [y, 1 - y]
        else:
            item_record[0] += y
            item_record[1] += 1 - y
        self.right += y
        self.wrong += 1 - y
        if y:
            self.right_hard += 1.0 - rate
        else:
            self.wrong_easy += rate
        self.index += 1
        self.recent.append(y)
        if len(self.recent) > RECENT:
            del self.recent[0]
        if at == at:
            self.windows = (
                self._windows_at(at) if self.window_time == self.window_time else [0.0] * len(self.windows)
            )
            for w in range(len(WINDOWS)):
                self.windows[2 * w + (1 - y)] += 1.0
            self.window_time = at
        if seconds == seconds and seconds > 0:
            typical = priors.typical_log_seconds(item, info)
            if typical == typical:
                residual = math.log(seconds) - typical
                self.time_recent = (
                    residual
                    if not self.time_n
                    else SPEED_DECAY * self.time_recent + (1 - SPEED_DECAY) * residual
                )
                self.time_n += 1
                self.time_sum += residual
                self.time_sq += residual * residual
            count, mean, var = priors.item_log_seconds(item)
            if count >= 3:
                self.speed_sum += (math.log(seconds) - mean) / math.sqrt(var + 0.05)
                self.speed_n += 1

    def open_error(self, kps: Iterable[str]) -> None:
        for k in kps:
            self.error_book[k] = self.error_book.get(k, 0) + 1

    def resolve_error(self, kps: Iterable[str]) -> None:
        for k in kps:
            left = self.error_book.get(k, 0) - 1
            if left > 0:
                self.error_book[k] = left
            else:
                self.error_book.pop(k, None)


def feature_matrix(rows: list[list[float]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64).reshape(-1, N_FEATURES)


@dataclass
class AnswerLog:
    """Answers in columns, grouped by student and in time order within a student."""

    students: list[str]
    items: list[str]
    correct: list[int]
    at: list[float]  # epoch seconds, NaN where the source has no clock
    seconds: list[float]  # time spent, NaN where unknown
    item_info: dict[str, ItemInfo]

    def __len__(self) -> int:
        return len(self.students)

    def kps_of(self) -> list[tuple[str, ...]]:
        info = self.item_info
        return [info[i].kps for i in self.items]

    def take(self, rows: Sequence[int] | np.ndarray) -> AnswerLog:
        return AnswerLog(
            [self.students[r] for r in rows],
            [self.items[r] for r in rows],
            [self.correct[r] for r in rows],
            [self.at[r] for r in rows],
            [self.seconds[r] for r in rows],
            self.item_info,
        )


def replay(log: AnswerLog, priors_of: dict[str, Priors] | Priors) -> np.ndarray:
    """The feature matrix of every answer, each from the student's history before it.

    priors_of is one Priors for all, or one per student (out-of-fold priors while training)."""
    rows: list[list[float]] = []
    state = StudentState()
    current = None
    info = log.item_info
    for student, item, y, at, seconds in zip(
        log.students, log.items, log.correct, log.at, log.seconds, strict=True
    ):
        if student != current:
            state, current = StudentState(), student
            priors = priors_of if isinstance(priors_of, Priors) else priors_of[student]
        item_info = info[item]
        rows.append(state.features(item, item_info, priors, at))
        state.update(item, item_info, y, priors, at, seconds)
    return feature_matrix(rows)

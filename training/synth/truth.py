"""The hidden ground truth of the synthetic school: how each simulated student really learns,
forgets, answers and spends time.

Training never reads this (it lives in data_samples/ground_truth/, away from the contract files);
it exists so that models and plans can be measured against the truth. The same class simulates
the 8 weeks of logs in data_samples/ and, later, the evenings a planner proposes.

Model, per student s and knowledge point k:
  effective mastery  m = aptitude[s,k] - 1 + 1.5·taught[s,k] + consolidated[s,k] + gain[s,k]·exp(-Δdays/τ)
  with τ = forget_days[s] · (1 + 0.5·practices[s,k])   (spacing: practised points fade slower)
  P(correct on item i) = guess[i] + (1 - guess[i] - careless[s]) · σ(1.7 · (m - difficulty[i]))
  minutes on item i    = base_minutes[i] · speed[s] · (1 + 0.3·(1 - P)) · LogNormal(0, 0.35)
Each practice adds learning_rate[s]·(0.25 if right else 0.4)·exp(-practices/8) to gain, after
moving 30 % of the current (decayed) gain into consolidated.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

SECONDS_PER_DAY = 86_400.0


@dataclass
class TrueStudent:
    student_id: str
    ability: float
    learning_rate: float
    forget_days: float
    speed: float
    careless: float


@dataclass
class TrueItem:
    item_id: str
    kp_ids: tuple[str, ...]
    difficulty: float
    base_minutes: float
    guess: float


@dataclass
class KPState:
    aptitude: float
    taught: float = 0.0
    gain: float = 0.0
    consolidated: float = 0.0
    practices: int = 0
    last_practice: datetime | None = None


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class GroundTruth:
    students: dict[str, TrueStudent] = field(default_factory=dict)
    items: dict[str, TrueItem] = field(default_factory=dict)
    state: dict[tuple[str, str], KPState] = field(default_factory=dict)

    def mastery(self, student_id: str, kp_id: str, at: datetime) -> float:
        st = self.state[(student_id, kp_id)]
        fade = 0.0
        if st.last_practice is not None and st.gain:
            tau = self.students[student_id].forget_days * (1 + 0.5 * st.practices)
            fade = st.gain * math.exp(-(at - st.last_practice).total_seconds() / SECONDS_PER_DAY / tau)
        return st.aptitude - 1.0 + 1.5 * st.taught + st.consolidated + fade

    def _known(self, student_id: str, item_id: str, at: datetime) -> float:
        """σ(1.7·(m - difficulty)): how well the student really knows what the item asks."""
        item = self.items[item_id]
        m = sum(self.mastery(student_id, kp, at) for kp in item.kp_ids) / len(item.kp_ids)
        return _sigmoid(1.7 * (m - item.difficulty))

    def p_correct(self, student_id: str, item_id: str, at: datetime) -> float:
        item = self.items[item_id]
        careless = self.students[student_id].careless
        return item.guess + (1 - item.guess - careless) * self._known(student_id, item_id, at)

    def teach(self, student_id: str, kp_id: str) -> None:
        self.state[(student_id, kp_id)].taught = 1.0

    def answer(
        self, rng: np.random.Generator, student_id: str, item_id: str, at: datetime
    ) -> tuple[bool, float, bool]:
        """Do the item: (correct, seconds spent, was a careless slip). Updates the student."""
        item = self.items[item_id]
        student = self.students[student_id]
        known = self._known(student_id, item_id, at)
        p = item.guess + (1 - item.guess - student.careless) * known
        draw = rng.random()
        correct = draw < p
        # Wrong though the student knew it: the careless share of the wrong answers.
        slip = not correct and draw < p + student.careless * known
        minutes = item.base_minutes * student.speed * (1 + 0.3 * (1 - p)) * math.exp(rng.normal(0.0, 0.35))
        seconds = float(min(6 * 3600, max(10.0, minutes * 60)))
        for kp in item.kp_ids:
            self._practise(student_id, kp, correct, at)
        return correct, seconds, slip

    def _practise(self, student_id: str, kp_id: str, correct: bool, at: datetime) -> None:
        st = self.state[(student_id, kp_id)]
        student = self.students[student_id]
        if st.last_practice is not None and st.gain:
            tau = student.forget_days * (1 + 0.5 * st.practices)
            st.gain *= math.exp(-(at - st.last_practice).total_seconds() / SECONDS_PER_DAY / tau)
        st.consolidated += 0.3 * st.gain
        st.gain = 0.7 * st.gain + student.learning_rate * (0.25 if correct else 0.4) * math.exp(
            -st.practices / 8
        )
        st.practices += 1
        st.last_practice = at

    # ---- files: written next to data_samples, never read by training ----

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "students.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["student_id", "ability", "learning_rate", "forget_days", "speed", "careless"])
            for s in sorted(self.students.values(), key=lambda s: s.student_id):
                w.writerow(
                    [
                        s.student_id,
                        f"{s.ability:.4f}",
                        f"{s.learning_rate:.4f}",
                        f"{s.forget_days:.3f}",
                        f"{s.speed:.4f}",
                        f"{s.careless:.4f}",
                    ]
                )
        with open(folder / "items.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["item_id", "kp_ids", "difficulty", "base_minutes", "guess"])
            for i in sorted(self.items.values(), key=lambda i: i.item_id):
                w.writerow(
                    [
                        i.item_id,
                        ";".join(i.kp_ids),
                        f"{i.difficulty:.4f}",
                        f"{i.base_minutes:.3f}",
                        f"{i.guess:.3f}",
                    ]
                )
        with open(folder / "student_kp_state.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(
                [
                    "student_id",
                    "kp_id",
                    "aptitude",
                    "taught",
                    "gain",
                    "consolidated",
                    "practices",
                    "last_practice",
                ]
            )
            for (sid, kp), st in sorted(self.state.items()):
                last = st.last_practice.isoformat() if st.last_practice else ""
                w.writerow(
                    [
                        sid,
                        kp,
                        f"{st.aptitude:.4f}",
                        f"{st.taught:.0f}",
                        f"{st.gain:.5f}",
                        f"{st.consolidated:.5f}",
                        st.practices,
                        last,
                    ]
                )

    @classmethod
    def read(cls, folder: Path) -> GroundTruth:
        truth = cls()
        with open(folder / "students.csv", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                truth.students[r["student_id"]] = TrueStudent(
                    r["student_id"], float(r["ability"]), float(r["learning_rate"]),
                    float(r["forget_days"]), float(r["speed"]), float(r["careless"]),
                )  # fmt: skip
        with open(folder / "items.csv", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                truth.items[r["item_id"]] = TrueItem(
                    r["item_id"], tuple(r["kp_ids"].split(";")), float(r["difficulty"]),
                    float(r["base_minutes"]), float(r["guess"]),
                )  # fmt: skip
        with open(folder / "student_kp_state.csv", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                truth.state[(r["student_id"], r["kp_id"])] = KPState(
                    float(r["aptitude"]), float(r["taught"]), float(r["gain"]), float(r["consolidated"]),
                    int(r["practices"]), datetime.fromisoformat(r["last_practice"]) if r["last_practice"] else None,
                )  # fmt: skip
        return truth

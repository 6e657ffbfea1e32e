"""The rules of POLICY.md that the constraint layer enforces, by ID, with short titles for
messages and documentation. HARD: nothing that breaks it ever leaves the service."""

from __future__ import annotations

HARD: dict[str, tuple[str, str]] = {
    "T1": (
        "一、二年级不布置书面作业，每晚一门学科",
        "grades 1-2: no written homework, one subject per evening",
    ),
    "T2": ("三至六年级每天不超过60分钟", "grades 3-6: at most 60 minutes per day"),
    "T3": ("初中每天不超过90分钟", "grades 7-9: at most 90 minutes per day"),
    "T4": ("高中合理安排（可配置上限）", "grades 10-12: a configured cap"),
    "T5": ("各科合计不超过上限，班主任统筹", "the cap is for the whole evening across subjects"),
    "T6": ("双休日和节假日不加大作业量", "weekends and holidays get no more than a school day"),
    "T7": ("中午不布置家庭作业", "no homework at noon"),
    "T8": ("每晚学科数（本校规定）", "subjects per evening (school option)"),
    "T9": (
        "只有部分学科可布置书面作业（本校规定）",
        "take-home written work only in some subjects (school option)",
    ),
    "T10": ("按每名学生的保守用时估计", "each student's own conservative time"),
    "T11": ("不以增加作业量惩罚学生", "volume never depends on performance"),
    "T12": ("家长签字可免写，不挪到第二天", "a parent's exemption, never moved to the next evening"),
    "C1": ("不超课程标准", "nothing beyond the curriculum standard"),
    "C2": ("不超教学进度", "nothing ahead of the class's teaching"),
    "C4": ("不布置机械重复作业", "no mechanical or repetitive homework"),
    "C5": ("不给家长布置作业", "no homework for parents"),
    "C6": ("分层作业整体不超时", "the whole tiered set within the cap"),
    "R5": ("不排名", "no ranking"),
}

# The HARD rules a homework set itself can break (R5, no ranking, is about outputs, not sets).
SET_RULES: tuple[str, ...] = tuple(rule for rule in HARD if rule != "R5")

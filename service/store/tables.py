"""The database tables. Column meanings follow models.schema; timestamps are stored as the UTC
instant plus the UTC offset (minutes) they were written with, so "tonight" and the original local
time can always be recovered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as its UTC instant (SQLite has no time zones of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
ID = String(64)

schools = Table(
    "schools",
    metadata,
    Column("school_id", ID, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("region", String(100), nullable=False),
    Column("policy", ID),
    Column("timezone", String(64), nullable=False),
)

knowledge_points = Table(
    "knowledge_points",
    metadata,
    Column("kp_id", ID, primary_key=True),
    Column("subject", String(16), nullable=False),
    Column("grade", SmallInteger, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("order", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    CheckConstraint("grade BETWEEN 1 AND 12", name="grade"),
)

kp_prerequisites = Table(
    "kp_prerequisites",
    metadata,
    Column("kp_id", ID, ForeignKey("knowledge_points.kp_id", ondelete="CASCADE"), primary_key=True),
    Column("prerequisite_id", ID, ForeignKey("knowledge_points.kp_id"), primary_key=True),
)

items = Table(
    "items",
    metadata,
    Column("item_id", ID, primary_key=True),
    Column("subject", String(16), nullable=False),
    Column("grade", SmallInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("stem", Text, nullable=False),
    Column("needs_parent", Boolean, nullable=False),
    Column("dup_group", ID),
    Column("est_minutes", Float),
    Column("answer", Text),
    CheckConstraint("grade BETWEEN 1 AND 12", name="grade"),
)

item_kps = Table(
    "item_kps",
    metadata,
    Column("item_id", ID, ForeignKey("items.item_id", ondelete="CASCADE"), primary_key=True),
    Column("kp_id", ID, ForeignKey("knowledge_points.kp_id"), primary_key=True),
    Column("position", SmallInteger, nullable=False),
    Index("ix_item_kps_kp_id", "kp_id"),
)

classes = Table(
    "classes",
    metadata,
    Column("class_id", ID, primary_key=True),
    Column("school_id", ID, ForeignKey("schools.school_id"), nullable=False),
    Column("grade", SmallInteger, nullable=False),
    Column("name", String(100), nullable=False),
    CheckConstraint("grade BETWEEN 1 AND 12", name="grade"),
)

class_subjects = Table(
    "class_subjects",
    metadata,
    Column("class_id", ID, ForeignKey("classes.class_id", ondelete="CASCADE"), primary_key=True),
    Column("subject", String(16), primary_key=True),
)

students = Table(
    "students",
    metadata,
    Column("student_id", ID, primary_key=True),
    Column("class_id", ID, ForeignKey("classes.class_id"), nullable=False, index=True),
    Column("display_name", String(40)),
    Column("personal_cap_minutes", SmallInteger),
    CheckConstraint("personal_cap_minutes >= 0", name="personal_cap"),
)

teaching_progress = Table(
    "teaching_progress",
    metadata,
    Column("class_id", ID, ForeignKey("classes.class_id"), primary_key=True),
    Column("kp_id", ID, ForeignKey("knowledge_points.kp_id"), primary_key=True),
    Column("subject", String(16), nullable=False),
    Column("taught_on", Date, nullable=False),
)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("school_id", ID, ForeignKey("schools.school_id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("day_type", String(16), nullable=False),
    Column("note", String(100)),
)

attempts = Table(
    "attempts",
    metadata,
    Column("event_id", ID, primary_key=True),
    Column("student_id", ID, ForeignKey("students.student_id"), nullable=False),
    Column("item_id", ID, ForeignKey("items.item_id"), nullable=False),
    Column("night", Date, nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("submitted_offset_min", SmallInteger, nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("seconds", Integer),
    Column("score", Float),
    Column("source", String(16), nullable=False),
    CheckConstraint("seconds IS NULL OR (seconds >= 1 AND seconds <= 21600)", name="seconds"),
    Index("ix_attempts_student_night", "student_id", "night"),
    Index("ix_attempts_item", "item_id"),
)

error_book = Table(
    "error_book",
    metadata,
    Column("entry_id", ID, primary_key=True),
    Column("student_id", ID, ForeignKey("students.student_id"), nullable=False, index=True),
    Column("item_id", ID, ForeignKey("items.item_id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_offset_min", SmallInteger, nullable=False),
    Column("error_type", String(16), nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("resolved_offset_min", SmallInteger),
    Column("event_id", ID),
)

# Plans: what a teacher (or the planner on their behalf) set for one student, one night, one subject.
plans = Table(
    "plans",
    metadata,
    Column("plan_id", ID, primary_key=True),
    Column("student_id", ID, ForeignKey("students.student_id"), nullable=False),
    Column("night", Date, nullable=False),
    Column("subject", String(16), nullable=False),
    Column("teacher_id", ID, nullable=False),
    Column("status", String(16), nullable=False),
    Column("model_version", String(64)),
    Column("typical_minutes", Float, nullable=False),
    Column("conservative_minutes", Float, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    CheckConstraint("status IN ('draft', 'published', 'exempted', 'done', 'discarded')", name="status"),
    Index("ix_plans_student_night", "student_id", "night"),
)

plan_items = Table(
    "plan_items",
    metadata,
    Column("plan_id", ID, ForeignKey("plans.plan_id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ID, ForeignKey("items.item_id"), primary_key=True),
    Column("tier", String(16), nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("typical_minutes", Float, nullable=False),
    Column("reason_zh", String(200), nullable=False),
    Column("reason_en", String(200), nullable=False),
    CheckConstraint("tier IN ('basic', 'extension')", name="tier"),
)

# The evening budget ledger: one row per (student, night) is the single source of truth for how
# many minutes are left. Reservations are guarded UPDATEs; the CHECK is the backstop.
evening_ledger = Table(
    "evening_ledger",
    metadata,
    Column("student_id", ID, ForeignKey("students.student_id"), primary_key=True),
    Column("night", Date, primary_key=True),
    Column("cap_minutes", Float, nullable=False),
    Column("reserved_minutes", Float, nullable=False, default=0.0),
    CheckConstraint("reserved_minutes >= 0", name="reserved_nonnegative"),
    CheckConstraint("reserved_minutes <= cap_minutes", name="reserved_within_cap"),
)

ledger_lines = Table(
    "ledger_lines",
    metadata,
    Column("line_id", Integer, primary_key=True, autoincrement=True),
    Column("student_id", ID, nullable=False),
    Column("night", Date, nullable=False),
    Column("subject", String(16), nullable=False),
    Column("plan_id", ID, ForeignKey("plans.plan_id"), nullable=False),
    Column("item_id", ID, ForeignKey("items.item_id"), nullable=False),
    Column("minutes", Float, nullable=False),
    UniqueConstraint("student_id", "night", "item_id", name="uq_ledger_lines_student_night_item"),
    CheckConstraint("minutes > 0", name="minutes_positive"),
    Index("ix_ledger_lines_plan_id", "plan_id"),
)

# Subject allocations (班主任协调): the head teacher's split of a class's evening per weekday
# (0 = Monday). Without rows for a weekday, the school policy's default split applies.
class_allocations = Table(
    "class_allocations",
    metadata,
    Column("class_id", ID, ForeignKey("classes.class_id", ondelete="CASCADE"), primary_key=True),
    Column("weekday", SmallInteger, primary_key=True),
    Column("subject", String(16), primary_key=True),
    Column("weight", Float, nullable=False),
    CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
    CheckConstraint("weight > 0", name="weight_positive"),
)

# Each subject's share of one student's evening: fixed when the evening is opened, moved only by
# the head teacher releasing a subject's unused minutes that same night.
evening_subjects = Table(
    "evening_subjects",
    metadata,
    Column("student_id", ID, primary_key=True),
    Column("night", Date, primary_key=True),
    Column("subject", String(16), primary_key=True),
    Column("allowance_minutes", Float, nullable=False),
    Column("reserved_minutes", Float, nullable=False, default=0.0),
    ForeignKeyConstraint(
        ["student_id", "night"], ["evening_ledger.student_id", "evening_ledger.night"], ondelete="CASCADE"
    ),
    CheckConstraint("reserved_minutes >= 0", name="reserved_nonnegative"),
    CheckConstraint("reserved_minutes <= allowance_minutes", name="reserved_within_allowance"),
)

allocation_releases = Table(
    "allocation_releases",
    metadata,
    Column("release_id", Integer, primary_key=True, autoincrement=True),
    Column("class_id", ID, ForeignKey("classes.class_id"), nullable=False),
    Column("night", Date, nullable=False),
    Column("from_subject", String(16), nullable=False),
    Column("to_subjects", String(200), nullable=False),
    Column("minutes", Float, nullable=False),  # summed over the class's students
    Column("released_by", ID, nullable=False),
    Column("released_at", UTCDateTime, nullable=False),
)

# T12: a parent's signature excusing tonight's written work. Recorded; never moves minutes.
exemptions = Table(
    "exemptions",
    metadata,
    Column("student_id", ID, ForeignKey("students.student_id"), primary_key=True),
    Column("night", Date, primary_key=True),
    Column("recorded_by", ID, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("note", String(200)),
)

SCOPE_KINDS = ("student", "class", "school", "district")
ROLES = ("student", "parent", "teacher", "head_teacher", "school_admin", "data_team", "district")

# People who sign in. A username the school hands out (no real names needed); the password is kept
# only as a salted scrypt hash.
users = Table(
    "users",
    metadata,
    Column("user_id", ID, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(100)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),
)

# What an account may see: a student themself and a parent their child (kind "student"), a teacher
# a class's subject and a head teacher a class (kind "class"; subject "" is every subject), a school
# administrator a school (kind "school"), an education bureau (教育局) its district (kind "district":
# classes and schools as a whole, never a student). The data team has no scope: it sees no
# individual's work.
user_scopes = Table(
    "user_scopes",
    metadata,
    Column("user_id", ID, ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("ref_id", ID, primary_key=True),
    Column("subject", String(16), primary_key=True),
    CheckConstraint(f"kind IN ({', '.join(repr(k) for k in SCOPE_KINDS)})", name="kind"),
    Index("ix_user_scopes_ref", "kind", "ref_id"),
)

# R4: the real time of an evening as the student or a parent reported it.
evening_reports = Table(
    "evening_reports",
    metadata,
    Column("student_id", ID, ForeignKey("students.student_id", ondelete="CASCADE"), primary_key=True),
    Column("night", Date, primary_key=True),
    Column("minutes", Float, nullable=False),
    Column("reported_by", ID, nullable=False),
    Column("reported_at", UTCDateTime, nullable=False),
    CheckConstraint("minutes >= 0 AND minutes <= 720", name="minutes"),
)

# A guardian's deletion request, carried out: only a keyed hash of the pseudonymous id stays, so a
# later import cannot bring the student back and no export can name them. `scheme` says which hash:
# "hmac-sha256" (keyed: JIANFU_ERASURE_SECRET), or "sha256" for records made before keys (re-keyed
# when the id is seen again: service.store.erasure).
erasures = Table(
    "erasures",
    metadata,
    Column("student_hash", String(64), primary_key=True),
    Column("erased_at", UTCDateTime, nullable=False),
    Column("requested_by", ID, nullable=False),
    Column("scheme", String(16), nullable=False),
    CheckConstraint("scheme IN ('sha256', 'hmac-sha256')", name="scheme"),
)

# What a process may keep in memory between requests, stamped by the database: each row's version
# is raised in the transaction that changes that data (the importer raises "items" when items or
# their knowledge points change), so every process and replica sees the change, not only the one
# that made it (service.store.versions).
data_versions = Table(
    "data_versions",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

JOB_STATES = ("queued", "running", "done", "failed", "interrupted")

# Work that outlives its request (an import; later a scanned worksheet): who asked, for which school
# ("*": every school of the deployment), its state, progress counters, problems and result as JSON,
# and its times. `runner` names the process holding it (host, pid, a token per start) and
# `heartbeat_at` says it is alive: a job whose runner is gone is marked interrupted (service.jobs).
jobs = Table(
    "jobs",
    metadata,
    Column("job_id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("owner_id", ID, nullable=False),
    Column("school_id", ID, nullable=False),
    Column("state", String(12), nullable=False),
    Column("params", JSON, nullable=False),
    Column("progress", JSON, nullable=False),
    Column("problems", JSON),
    Column("result", JSON),
    Column("runner", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    CheckConstraint(f"state IN ({', '.join(repr(s) for s in JOB_STATES)})", name="state"),
    Index("ix_jobs_kind_state", "kind", "state"),
    Index("ix_jobs_owner_id", "owner_id"),
)

# A signed-in session (service.auth): its id is the `sid` of the access token, and every request's
# token is checked against this table, so signing out (the row deleted) ends it at once on every
# replica. Rows whose token has expired are deleted at a later sign-in.
sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("user_id", ID, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Failed sign-ins, for the back-off (service.auth.Throttle), per account and per client address,
# shared by every replica. The key_hash is a keyed hash (HMAC) of "account:<lower-cased username>" or
# "address:<client address>": no username is stored, not even one that has no account.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False, index=True),
    Column("blocked_until", UTCDateTime, nullable=False),
)

# The trusted archive (R2, 档案留存; service.store.archive): every published set, weekly notice,
# reported evening and report, appended as a chain of entries each holding the hash of the one
# before. An entry's hashed part holds no personal data: only a non-personal `public` part and a
# salted commitment (SHA-256 of a random salt and the text) to each personal part, which is kept in
# `archive_parts` and can be erased (salt and text emptied) without breaking the chain. `seq` and
# `prev_hash` are unique, so two appends racing for the same place cannot fork the chain.
archive_entries = Table(
    "archive_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(24), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("recorded_at", String(40), nullable=False),  # ISO 8601 in UTC, hashed as written
    Column("public", Text, nullable=False),  # canonical JSON, hashed as written
    Column("commitments", Text, nullable=False),  # canonical JSON list of hex SHA-256
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("entry_hash", String(64), nullable=False),
    CheckConstraint("seq >= 1", name="seq_positive"),
    Index("ix_archive_entries_kind_topic", "kind", "topic"),
)

archive_parts = Table(
    "archive_parts",
    metadata,
    Column("seq", BigInteger, ForeignKey("archive_entries.seq"), primary_key=True),
    Column("part", SmallInteger, primary_key=True, autoincrement=False),
    Column("student_id", ID, index=True),  # whose data the part is (emptied by an erasure)
    Column("salt", String(64)),  # hex; emptied by an erasure
    Column("body", Text),  # canonical JSON; emptied by an erasure
    Column("erased_at", UTCDateTime),
    CheckConstraint(
        "(erased_at IS NULL AND salt IS NOT NULL AND body IS NOT NULL)"
        " OR (erased_at IS NOT NULL AND salt IS NULL AND body IS NULL AND student_id IS NULL)",
        name="erased_or_whole",
    ),
)


# -- Districts (issue 19): an education bureau (教育局) and the schools it oversees. A school belongs
# to at most one district; a district account (role "district", scope kind "district") sees its
# schools' classes as a whole — figures of classes and schools, never of a student.
districts = Table(
    "districts",
    metadata,
    Column("district_id", ID, primary_key=True),
    Column("name", String(100), nullable=False),
)

district_schools = Table(
    "district_schools",
    metadata,
    Column("school_id", ID, ForeignKey("schools.school_id"), primary_key=True),
    Column("district_id", ID, ForeignKey("districts.district_id", ondelete="CASCADE"), nullable=False),
    Index("ix_district_schools_district", "district_id"),
)

# Teachers' own items (issue 17, the edit page): an item a teacher wrote or a workbook exercise
# ("练习册 P23 第1-5题") is an ordinary row of `items` (text, kind, points, the teacher's estimate in
# est_minutes) that belongs to one school: only that school's teachers find it in the bank browser
# and only its students are ever set it (service.planner.context, service.plans.edit_plan).
school_items = Table(
    "school_items",
    metadata,
    Column("item_id", ID, ForeignKey("items.item_id", ondelete="CASCADE"), primary_key=True),
    Column("school_id", ID, ForeignKey("schools.school_id"), nullable=False, index=True),
    Column("created_by", ID, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# The mastery levels (等级 A-D, never ranks) the planner read for each student when it planned an
# evening's subject (issue 17, the teacher's preview): the preview shows the levels the plan was made
# on, without running the model again for every page view. Erased with the student.
evening_levels = Table(
    "evening_levels",
    metadata,
    Column("student_id", ID, ForeignKey("students.student_id", ondelete="CASCADE"), primary_key=True),
    Column("night", Date, primary_key=True),
    Column("subject", String(16), primary_key=True),
    Column("kp_id", ID, primary_key=True),
    Column("level", String(1), nullable=False),
    CheckConstraint("level IN ('A', 'B', 'C', 'D')", name="level"),
)

# --- Scanned worksheets (issue 16, service/scans.py) -------------------------------------------
# What each scanned sheet's boxes said, once per sheet and item (a rescan stores nothing twice; a
# changed mark waits in scan_reviews as a correction), the minutes written on each sheet, and the
# review queue: boxes too unclear to read, corrections and unclear times, each with its image crop.
scan_marks = Table(
    "scan_marks",
    metadata,
    Column("sheet", String(40), primary_key=True),  # "p.<plan id>" or "e.<plan id>" (service.scanning.sheets)
    Column("item_id", ID, ForeignKey("items.item_id"), primary_key=True),
    Column(
        "student_id", ID, ForeignKey("students.student_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("night", Date, nullable=False),
    Column("mark", String(16), nullable=False),
    Column("event_id", ID),  # the attempt stored for it (none for "not done")
    Column("scanned_at", UTCDateTime, nullable=False),
    CheckConstraint("mark IN ('right', 'wrong', 'half', 'not_done')", name="mark"),
)

scan_times = Table(
    "scan_times",
    metadata,
    Column("sheet", String(40), primary_key=True),
    Column(
        "student_id", ID, ForeignKey("students.student_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("night", Date, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("scanned_at", UTCDateTime, nullable=False),
    CheckConstraint("minutes >= 0 AND minutes <= 720", name="minutes"),
)

scan_reviews = Table(
    "scan_reviews",
    metadata,
    Column("review_id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),  # box: unclear; correction: a rescan reads another mark; time
    Column("sheet", String(40), nullable=False),
    Column("item_id", ID, ForeignKey("items.item_id")),  # none for a time
    Column(
        "student_id", ID, ForeignKey("students.student_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("class_id", ID, nullable=False),
    Column("subject", String(16), nullable=False),  # the item's; "" for a time
    Column("night", Date, nullable=False),
    Column("number", SmallInteger, nullable=False),  # the item's number on the sheet; 0 for a time
    Column("read_mark", String(16)),  # a correction's new mark; a time's minutes as text if read
    Column("stored_mark", String(16)),  # what is stored now (a correction's)
    Column("fills", JSON, nullable=False),
    Column("crop", LargeBinary, nullable=False),  # PNG of the boxes as scanned
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", ID),
    Column("resolution", String(16)),
    CheckConstraint("kind IN ('box', 'correction', 'time')", name="kind"),
    Index("ix_scan_reviews_open", "class_id", "resolved_at"),
)

# --- The student's evening (issues 16 and 17): how each answer was judged, and 作业熔断 ---------------
# How an answer was judged: "graded" (a typed answer graded on the server, service.grading, the
# normalised text kept in `typed`), "self_report" (the student or a parent said right or wrong: work
# that cannot be graded, or an app's answer without its text) or "teacher" (marked by a teacher, on
# paper or in the app). Answers imported from files have none.
ANSWER_SOURCES = ("graded", "self_report", "teacher")
answer_marks = Table(
    "answer_marks",
    metadata,
    Column("event_id", ID, ForeignKey("attempts.event_id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", ID, ForeignKey("students.student_id"), nullable=False, index=True),
    Column("answer_source", String(16), nullable=False),
    Column("typed", String(100)),
    CheckConstraint(f"answer_source IN ({', '.join(repr(s) for s in ANSWER_SOURCES)})", name="answer_source"),
)

# 作业熔断: the evening stopped because its time was up (the cap reached by real minutes, or
# bedtime), by the student or a parent, once a night.
STOP_REASONS = ("cap", "bedtime")
evening_stops = Table(
    "evening_stops",
    metadata,
    Column("student_id", ID, ForeignKey("students.student_id"), primary_key=True),
    Column("night", Date, primary_key=True),
    Column("reason", String(16), nullable=False),
    Column("minutes_spent", Float, nullable=False),
    Column("stopped_by", ID, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=False),
    CheckConstraint(f"reason IN ({', '.join(repr(s) for s in STOP_REASONS)})", name="reason"),
)

# What was left when the evening stopped: not done because time ran out. Never an error-book entry,
# never a wrong answer, never carried to another night (T12); for the time model a censored
# observation (`censored`: the item's time is at least `seconds_at_least`, if known, not measured).
time_outs = Table(
    "time_outs",
    metadata,
    Column("student_id", ID, ForeignKey("students.student_id"), primary_key=True),
    Column("night", Date, primary_key=True),
    Column("item_id", ID, ForeignKey("items.item_id"), primary_key=True),
    Column("plan_id", ID, nullable=False),
    Column("censored", Boolean, nullable=False, default=True),
    Column("seconds_at_least", Integer),
)

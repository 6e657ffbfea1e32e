"""initial schema: data contract, plans, evening ledger

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("stem", sa.Text(), nullable=False),
        sa.Column("needs_parent", sa.Boolean(), nullable=False),
        sa.Column("dup_group", sa.String(length=64), nullable=True),
        sa.Column("est_minutes", sa.Float(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.CheckConstraint("grade BETWEEN 1 AND 12", name=op.f("ck_items_grade")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_items")),
    )
    op.create_table(
        "knowledge_points",
        sa.Column("kp_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.SmallInteger(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.CheckConstraint("grade BETWEEN 1 AND 12", name=op.f("ck_knowledge_points_grade")),
        sa.PrimaryKeyConstraint("kp_id", name=op.f("pk_knowledge_points")),
    )
    op.create_table(
        "schools",
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_schools")),
    )
    op.create_table(
        "calendar_days",
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("day_type", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.school_id"], name=op.f("fk_calendar_days_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("school_id", "day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "classes",
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("grade", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.CheckConstraint("grade BETWEEN 1 AND 12", name=op.f("ck_classes_grade")),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.school_id"], name=op.f("fk_classes_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("class_id", name=op.f("pk_classes")),
    )
    op.create_table(
        "item_kps",
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("kp_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.item_id"], name=op.f("fk_item_kps_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["kp_id"], ["knowledge_points.kp_id"], name=op.f("fk_item_kps_kp_id_knowledge_points")
        ),
        sa.PrimaryKeyConstraint("item_id", "kp_id", name=op.f("pk_item_kps")),
    )
    with op.batch_alter_table("item_kps", schema=None) as batch_op:
        batch_op.create_index("ix_item_kps_kp_id", ["kp_id"], unique=False)

    op.create_table(
        "kp_prerequisites",
        sa.Column("kp_id", sa.String(length=64), nullable=False),
        sa.Column("prerequisite_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["kp_id"],
            ["knowledge_points.kp_id"],
            name=op.f("fk_kp_prerequisites_kp_id_knowledge_points"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["knowledge_points.kp_id"],
            name=op.f("fk_kp_prerequisites_prerequisite_id_knowledge_points"),
        ),
        sa.PrimaryKeyConstraint("kp_id", "prerequisite_id", name=op.f("pk_kp_prerequisites")),
    )
    op.create_table(
        "class_subjects",
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.class_id"],
            name=op.f("fk_class_subjects_class_id_classes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("class_id", "subject", name=op.f("pk_class_subjects")),
    )
    op.create_table(
        "students",
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=40), nullable=True),
        sa.Column("personal_cap_minutes", sa.SmallInteger(), nullable=True),
        sa.CheckConstraint("personal_cap_minutes >= 0", name=op.f("ck_students_personal_cap")),
        sa.ForeignKeyConstraint(
            ["class_id"], ["classes.class_id"], name=op.f("fk_students_class_id_classes")
        ),
        sa.PrimaryKeyConstraint("student_id", name=op.f("pk_students")),
    )
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_students_class_id"), ["class_id"], unique=False)

    op.create_table(
        "teaching_progress",
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("kp_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("taught_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["classes.class_id"], name=op.f("fk_teaching_progress_class_id_classes")
        ),
        sa.ForeignKeyConstraint(
            ["kp_id"], ["knowledge_points.kp_id"], name=op.f("fk_teaching_progress_kp_id_knowledge_points")
        ),
        sa.PrimaryKeyConstraint("class_id", "kp_id", name=op.f("pk_teaching_progress")),
    )
    op.create_table(
        "attempts",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_offset_min", sa.SmallInteger(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "seconds IS NULL OR (seconds >= 1 AND seconds <= 21600)", name=op.f("ck_attempts_seconds")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.item_id"], name=op.f("fk_attempts_item_id_items")),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name=op.f("fk_attempts_student_id_students")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_attempts")),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index("ix_attempts_item", ["item_id"], unique=False)
        batch_op.create_index("ix_attempts_student_night", ["student_id", "night"], unique=False)

    op.create_table(
        "error_book",
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_offset_min", sa.SmallInteger(), nullable=False),
        sa.Column("error_type", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_offset_min", sa.SmallInteger(), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.item_id"], name=op.f("fk_error_book_item_id_items")),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name=op.f("fk_error_book_student_id_students")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_error_book")),
    )
    with op.batch_alter_table("error_book", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_error_book_student_id"), ["student_id"], unique=False)

    op.create_table(
        "evening_ledger",
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("cap_minutes", sa.Float(), nullable=False),
        sa.Column("reserved_minutes", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "reserved_minutes <= cap_minutes", name=op.f("ck_evening_ledger_reserved_within_cap")
        ),
        sa.CheckConstraint("reserved_minutes >= 0", name=op.f("ck_evening_ledger_reserved_nonnegative")),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name=op.f("fk_evening_ledger_student_id_students")
        ),
        sa.PrimaryKeyConstraint("student_id", "night", name=op.f("pk_evening_ledger")),
    )
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("teacher_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("typical_minutes", sa.Float(), nullable=False),
        sa.Column("conservative_minutes", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'exempted', 'done', 'discarded')", name=op.f("ck_plans_status")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name=op.f("fk_plans_student_id_students")
        ),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plans")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.create_index("ix_plans_student_night", ["student_id", "night"], unique=False)

    op.create_table(
        "ledger_lines",
        sa.Column("line_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_ledger_lines_minutes_positive")),
        sa.ForeignKeyConstraint(["item_id"], ["items.item_id"], name=op.f("fk_ledger_lines_item_id_items")),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], name=op.f("fk_ledger_lines_plan_id_plans")),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_ledger_lines")),
        sa.UniqueConstraint("student_id", "night", "item_id", name="uq_ledger_lines_student_night_item"),
    )
    op.create_table(
        "plan_items",
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("typical_minutes", sa.Float(), nullable=False),
        sa.Column("reason_zh", sa.String(length=200), nullable=False),
        sa.Column("reason_en", sa.String(length=200), nullable=False),
        sa.CheckConstraint("tier IN ('basic', 'extension')", name=op.f("ck_plan_items_tier")),
        sa.ForeignKeyConstraint(["item_id"], ["items.item_id"], name=op.f("fk_plan_items_item_id_items")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.plan_id"], name=op.f("fk_plan_items_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("plan_id", "item_id", name=op.f("pk_plan_items")),
    )


def downgrade() -> None:
    op.drop_table("plan_items")
    op.drop_table("ledger_lines")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_index("ix_plans_student_night")

    op.drop_table("plans")
    op.drop_table("evening_ledger")
    with op.batch_alter_table("error_book", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_error_book_student_id"))

    op.drop_table("error_book")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_student_night")
        batch_op.drop_index("ix_attempts_item")

    op.drop_table("attempts")
    op.drop_table("teaching_progress")
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_students_class_id"))

    op.drop_table("students")
    op.drop_table("class_subjects")
    op.drop_table("kp_prerequisites")
    with op.batch_alter_table("item_kps", schema=None) as batch_op:
        batch_op.drop_index("ix_item_kps_kp_id")

    op.drop_table("item_kps")
    op.drop_table("classes")
    op.drop_table("calendar_days")
    op.drop_table("schools")
    op.drop_table("knowledge_points")
    op.drop_table("items")

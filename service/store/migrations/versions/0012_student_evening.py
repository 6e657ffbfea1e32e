"""the student's evening: how each answer was judged (graded / self-report / teacher), and 作业熔断
(an evening stopped when its time was up, and the items left, kept as censored observations)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_marks",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("answer_source", sa.String(length=16), nullable=False),
        sa.Column("typed", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "answer_source IN ('graded', 'self_report', 'teacher')",
            name=op.f("ck_answer_marks_answer_source"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["attempts.event_id"],
            name=op.f("fk_answer_marks_event_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name=op.f("fk_answer_marks_student_id_students")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_answer_marks")),
    )
    with op.batch_alter_table("answer_marks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_marks_student_id"), ["student_id"], unique=False)
    op.create_table(
        "evening_stops",
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("minutes_spent", sa.Float(), nullable=False),
        sa.Column("stopped_by", sa.String(length=64), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason IN ('cap', 'bedtime')", name=op.f("ck_evening_stops_reason")),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name=op.f("fk_evening_stops_student_id_students")
        ),
        sa.PrimaryKeyConstraint("student_id", "night", name=op.f("pk_evening_stops")),
    )
    op.create_table(
        "time_outs",
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("censored", sa.Boolean(), nullable=False),
        sa.Column("seconds_at_least", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.item_id"], name=op.f("fk_time_outs_item_id_items")),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.student_id"], name=op.f("fk_time_outs_student_id_students")
        ),
        sa.PrimaryKeyConstraint("student_id", "night", "item_id", name=op.f("pk_time_outs")),
    )


def downgrade() -> None:
    op.drop_table("time_outs")
    op.drop_table("evening_stops")
    with op.batch_alter_table("answer_marks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_marks_student_id"))
    op.drop_table("answer_marks")

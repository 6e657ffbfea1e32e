"""scanned worksheets (issue 16): the marks read per sheet and item, the minutes per sheet, the review queue

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_marks",
        sa.Column("sheet", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("mark", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mark IN ('right', 'wrong', 'half', 'not_done')", name=op.f("ck_scan_marks_mark")),
        sa.ForeignKeyConstraint(["item_id"], ["items.item_id"], name=op.f("fk_scan_marks_item_id_items")),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.student_id"],
            ondelete="CASCADE",
            name=op.f("fk_scan_marks_student_id_students"),
        ),
        sa.PrimaryKeyConstraint("sheet", "item_id", name=op.f("pk_scan_marks")),
    )
    op.create_index(op.f("ix_scan_marks_student_id"), "scan_marks", ["student_id"])
    op.create_table(
        "scan_times",
        sa.Column("sheet", sa.String(length=40), nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("minutes >= 0 AND minutes <= 720", name=op.f("ck_scan_times_minutes")),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.student_id"],
            ondelete="CASCADE",
            name=op.f("fk_scan_times_student_id_students"),
        ),
        sa.PrimaryKeyConstraint("sheet", name=op.f("pk_scan_times")),
    )
    op.create_index(op.f("ix_scan_times_student_id"), "scan_times", ["student_id"])
    op.create_table(
        "scan_reviews",
        sa.Column("review_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sheet", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("number", sa.SmallInteger(), nullable=False),
        sa.Column("read_mark", sa.String(length=16), nullable=True),
        sa.Column("stored_mark", sa.String(length=16), nullable=True),
        sa.Column("fills", sa.JSON(), nullable=False),
        sa.Column("crop", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.CheckConstraint("kind IN ('box', 'correction', 'time')", name=op.f("ck_scan_reviews_kind")),
        sa.ForeignKeyConstraint(["item_id"], ["items.item_id"], name=op.f("fk_scan_reviews_item_id_items")),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.student_id"],
            ondelete="CASCADE",
            name=op.f("fk_scan_reviews_student_id_students"),
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_scan_reviews")),
    )
    op.create_index(op.f("ix_scan_reviews_student_id"), "scan_reviews", ["student_id"])
    op.create_index("ix_scan_reviews_open", "scan_reviews", ["class_id", "resolved_at"])


def downgrade() -> None:
    op.drop_table("scan_reviews")
    op.drop_table("scan_times")
    op.drop_table("scan_marks")

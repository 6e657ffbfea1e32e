"""the teacher's pages (issue 17): teachers' own items (an item of the bank that belongs to one
school) and the mastery levels each evening's plan was made on

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "school_items",
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.item_id"], name=op.f("fk_school_items_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.school_id"], name=op.f("fk_school_items_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_school_items")),
    )
    op.create_index(op.f("ix_school_items_school_id"), "school_items", ["school_id"], unique=False)
    op.create_table(
        "evening_levels",
        sa.Column("student_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("kp_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=1), nullable=False),
        sa.CheckConstraint("level IN ('A', 'B', 'C', 'D')", name=op.f("ck_evening_levels_level")),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.student_id"],
            name=op.f("fk_evening_levels_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", "night", "subject", "kp_id", name=op.f("pk_evening_levels")),
    )


def downgrade() -> None:
    op.drop_table("evening_levels")
    op.drop_index(op.f("ix_school_items_school_id"), table_name="school_items")
    op.drop_table("school_items")

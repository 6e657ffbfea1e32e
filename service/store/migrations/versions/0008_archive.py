"""the trusted archive (R2): a hash chain of entries and their erasable personal parts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.String(length=40), nullable=False),
        sa.Column("public", sa.Text(), nullable=False),
        sa.Column("commitments", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_archive_entries_seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_archive_entries")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_archive_entries_prev_hash")),
    )
    with op.batch_alter_table("archive_entries", schema=None) as batch_op:
        batch_op.create_index("ix_archive_entries_kind_topic", ["kind", "topic"], unique=False)

    op.create_table(
        "archive_parts",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("part", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("student_id", sa.String(length=64), nullable=True),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(erased_at IS NULL AND salt IS NOT NULL AND body IS NOT NULL)"
            " OR (erased_at IS NOT NULL AND salt IS NULL AND body IS NULL AND student_id IS NULL)",
            name=op.f("ck_archive_parts_erased_or_whole"),
        ),
        sa.ForeignKeyConstraint(
            ["seq"], ["archive_entries.seq"], name=op.f("fk_archive_parts_seq_archive_entries")
        ),
        sa.PrimaryKeyConstraint("seq", "part", name=op.f("pk_archive_parts")),
    )
    with op.batch_alter_table("archive_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_archive_parts_student_id"), ["student_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("archive_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_parts_student_id"))
    op.drop_table("archive_parts")
    with op.batch_alter_table("archive_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_archive_entries_kind_topic")
    op.drop_table("archive_entries")

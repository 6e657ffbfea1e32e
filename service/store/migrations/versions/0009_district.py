"""districts (教育局): the districts, which schools each oversees, and the district role and scope

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('student', 'parent', 'teacher', 'head_teacher', 'school_admin', 'data_team')"
NEW_ROLES = (
    "role IN ('student', 'parent', 'teacher', 'head_teacher', 'school_admin', 'data_team', 'district')"
)
OLD_KINDS = "kind IN ('student', 'class', 'school')"
NEW_KINDS = "kind IN ('student', 'class', 'school', 'district')"


def _checks(roles: str, kinds: str) -> None:
    # SQLite cannot alter a CHECK: batch mode copies the table with the new one (PostgreSQL alters).
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), roles)
    with op.batch_alter_table("user_scopes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_scopes_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_user_scopes_kind"), kinds)


def upgrade() -> None:
    op.create_table(
        "districts",
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("district_id", name=op.f("pk_districts")),
    )
    op.create_table(
        "district_schools",
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.district_id"],
            name=op.f("fk_district_schools_district_id_districts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.school_id"], name=op.f("fk_district_schools_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_district_schools")),
    )
    with op.batch_alter_table("district_schools", schema=None) as batch_op:
        batch_op.create_index("ix_district_schools_district", ["district_id"], unique=False)
    _checks(NEW_ROLES, NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM user_scopes WHERE kind = 'district'")
    op.execute("DELETE FROM users WHERE role = 'district'")
    _checks(OLD_ROLES, OLD_KINDS)
    with op.batch_alter_table("district_schools", schema=None) as batch_op:
        batch_op.drop_index("ix_district_schools_district")
    op.drop_table("district_schools")
    op.drop_table("districts")

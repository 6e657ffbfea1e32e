"""erasure keys: which hash a deletion record is (keyed HMAC-SHA256, or the unkeyed SHA-256 of before)

Every record made so far is the unkeyed SHA-256 of the student id ("sha256"): it cannot be re-keyed
here, because the id is gone with the student. The code keeps matching such records and replaces
each by its keyed hash ("hmac-sha256") the first time an import brings the id again
(service.store.erasure). A downgrade drops the column and keeps every record; the code before this
revision cannot match the keyed ones.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("erasures", sa.Column("scheme", sa.String(length=16), nullable=True))
    op.execute("UPDATE erasures SET scheme = 'sha256'")
    with op.batch_alter_table("erasures") as batch:
        batch.alter_column("scheme", existing_type=sa.String(length=16), nullable=False)
        batch.create_check_constraint(op.f("ck_erasures_scheme"), "scheme IN ('sha256', 'hmac-sha256')")


def downgrade() -> None:
    with op.batch_alter_table("erasures") as batch:
        batch.drop_constraint(op.f("ck_erasures_scheme"), type_="check")
        batch.drop_column("scheme")

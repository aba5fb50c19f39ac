"""a snippet's advisories from the analyzer (what keeps it from standing alone, and the fix)

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-25 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("snippets") as batch:
        batch.add_column(sa.Column("advisories", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snippets") as batch:
        batch.drop_column("advisories")

"""one session per Drive file, one active render task per snippet

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status IN ('PENDING', 'STARTED')")


def upgrade() -> None:
    conn = op.get_bind()
    sessions = sa.table("sessions", sa.column("id", sa.Integer), sa.column("drive_file_id", sa.String))
    # Sessions made by racing uploads before this constraint keep their rows: every copy after the first
    # gets a suffixed id, so the index can be built and none of them is lost.
    rows = conn.execute(sa.select(sessions.c.id, sessions.c.drive_file_id).order_by(sessions.c.id)).all()
    seen: set[str] = set()
    for session_id, file_id in rows:
        if file_id in seen:
            conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id)
                .values(drive_file_id=f"{file_id}#duplicate-{session_id}")
            )
        seen.add(file_id)
    op.drop_index("ix_sessions_drive_file_id", table_name="sessions")
    op.create_index("ix_sessions_drive_file_id", "sessions", ["drive_file_id"], unique=True)

    tasks = sa.table(
        "render_tasks",
        sa.column("task_id", sa.String),
        sa.column("snippet_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("error", sa.Text),
        sa.column("result", sa.Text),
        sa.column("created_at", sa.DateTime),
    )
    # Of several active tasks of one snippet (parallel clicks before this index), the oldest stays.
    active = conn.execute(
        sa.select(tasks.c.task_id, tasks.c.snippet_id)
        .where(tasks.c.status.in_(("PENDING", "STARTED")), tasks.c.snippet_id.is_not(None))
        .order_by(tasks.c.created_at, tasks.c.task_id)
    ).all()
    kept: set[int] = set()
    message = "Superseded by another render task of the same snippet"
    for task_id, snippet_id in active:
        if snippet_id in kept:
            conn.execute(
                tasks.update()
                .where(tasks.c.task_id == task_id)
                .values(status="FAILURE", error=message, result=message)
            )
        kept.add(snippet_id)
    op.create_index(
        "ux_render_tasks_active_snippet",
        "render_tasks",
        ["snippet_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ux_render_tasks_active_snippet", table_name="render_tasks")
    op.drop_index("ix_sessions_drive_file_id", table_name="sessions")
    op.create_index("ix_sessions_drive_file_id", "sessions", ["drive_file_id"], unique=False)

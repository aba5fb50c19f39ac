"""FastAPI dependencies: settings, DB sessions, the NATS client, the media store, access control."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from aiat.store import MediaStore
from aiat_gateway.api.auth import Access
from aiat_gateway.db.connection import make_session_factory
from aiat_gateway.nats_client import NatsClient
from aiat_gateway.settings import GatewaySettings


@dataclass
class AppState:
    """What the app builds once at start-up and every request shares."""

    settings: GatewaySettings
    db_engine: Engine
    session_factory: sessionmaker[Session]
    store: MediaStore
    nats: NatsClient
    access: Access = field(default_factory=Access)

    @cached_property
    def read_session_factory(self) -> sessionmaker[Session]:
        """Sessions for one-statement reads: autocommit, so no BEGIN and ROLLBACK round trips around them."""
        return make_session_factory(self.db_engine.execution_options(isolation_level="AUTOCOMMIT"))


async def get_state(request: Request) -> AppState:
    """The application state (async: a sync dependency would cost a thread-pool hop per request)."""
    state: AppState = request.app.state.aiat
    return state


def get_db(state: Annotated[AppState, Depends(get_state)]) -> Iterator[Session]:
    """One DB session per request."""
    with state.session_factory() as db:
        yield db


State = Annotated[AppState, Depends(get_state)]
Db = Annotated[Session, Depends(get_db)]

# Ids are 32-bit in the schema; anything larger is a 422, never a database overflow.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
TaskId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]

"""GET /sessions?q= (the studio's search) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from aiat.nats_server import NatsServer
from aiat_gateway.api.app import create_app
from aiat_gateway.db.models import LectureSession, Status
from tests.gateway.conftest import make_settings


def test_search_matches_name_or_module_case_insensitively_and_literally(
    tmp_path: Path, database_url: str
) -> None:
    with NatsServer(tmp_path / "nats") as nats:
        app = create_app(make_settings(tmp_path, database_url, nats.url))
        with app.state.aiat.session_factory() as db:
            for n, (name, module) in enumerate(
                [
                    ("Newton's laws", "Physics"),
                    ("Cells", "Biology"),
                    ("100% energy", None),
                    ("Optics", "physics 2"),
                ]
            ):
                db.add(
                    LectureSession(
                        name=name,
                        module=module,
                        drive_link=f"link{n}",
                        drive_file_id=f"file{n}",
                        job_status=Status.PENDING,
                        job_id=f"j{n}",
                    )
                )
            db.commit()
        with TestClient(app) as client:

            def names(**params: str) -> list[str]:
                out = client.get("/api/v1/sessions", params={"sort_by": "name", "order": "asc", **params})
                assert out.status_code == 200, out.text
                return [s["name"] for s in out.json()]

            assert names(q="PHYSICS") == ["Newton's laws", "Optics"]
            assert names(q="cell") == ["Cells"]
            assert names(q="0%") == ["100% energy"]  # % is a character, not a wildcard
            assert names(q="_") == []
            assert names(q="physics", limit="1", skip="1") == ["Optics"]  # pages the filtered list
            assert len(names()) == 4

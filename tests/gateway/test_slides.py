"""A session's slides: stored with the plan, listed by GET /sessions/{id}/slides, thumbnails under /output."""

from __future__ import annotations

from aiat.analyzer.v1 import analyzer_pb2
from aiat_gateway.chapters import chapters
from aiat_gateway.plans import PlanEntry
from aiat_gateway.slides import SlideEntry, replace_slides
from aiat_gateway.worker.pipeline import slide_entries
from tests.gateway import seed
from tests.gateway.conftest import Gateway
from tests.gateway.test_contract import upload

JPEG = b"\xff\xd8\xff\xe0 a thumbnail \xff\xd9"


def add_slides(gw: Gateway, session_id: int, slides: list[SlideEntry]) -> None:
    """Store slides for a session, as the worker does when the analysis finishes."""
    with gw.state.session_factory.begin() as db:
        replace_slides(db, session_id, slides)


def test_slides_are_listed_with_their_ends_and_thumbnails(gateway: Gateway) -> None:
    """Each slide runs to the next one's start, the last to the end of the video; results count them."""
    sid = upload(gateway, 1)["id"]
    seed.finish(gateway.state, sid, [PlanEntry("Forces", 0.5, 50.0, "")], duration=60.0)
    gateway.state.store.write_bytes_atomic(f"output/{sid}/slides/slide-001.jpg", JPEG)
    add_slides(gateway, sid, [SlideEntry(0.0, "Newton's laws", "slide-001.jpg"), SlideEntry(20.5, "")])
    got = gateway.client.get(f"/api/v1/sessions/{sid}/slides")
    assert got.status_code == 200, got.text
    assert got.json() == [
        {
            "start": 0.0,
            "end": 20.5,
            "title": "Newton's laws",
            "thumbnail_url": f"/output/{sid}/slides/slide-001.jpg",
        },
        {"start": 20.5, "end": 60.0, "title": "", "thumbnail_url": None},
    ]
    image = gateway.client.get(f"/output/{sid}/slides/slide-001.jpg")
    assert image.status_code == 200 and image.content == JPEG
    assert image.headers["content-type"] == "image/jpeg"
    assert gateway.client.get(f"/api/v1/sessions/{sid}/results").json()["slide_count"] == 2
    add_slides(gateway, sid, [SlideEntry(3.0, "Energy")])  # a new analysis replaces them
    assert [s["title"] for s in gateway.client.get(f"/api/v1/sessions/{sid}/slides").json()] == ["Energy"]


def test_no_slides_is_an_empty_list_and_an_unknown_session_a_404(gateway: Gateway) -> None:
    """A talking head has no slides; a session that does not exist is not found."""
    sid = upload(gateway, 2)["id"]
    assert gateway.client.get(f"/api/v1/sessions/{sid}/slides").json() == []
    assert gateway.client.get(f"/api/v1/sessions/{sid}/results").json()["slide_count"] == 0
    assert gateway.client.get("/api/v1/sessions/999999/slides").status_code == 404


def test_slides_and_thumbnails_need_a_key_or_a_signed_url(gateway: Gateway) -> None:
    """Without a key: 401 for the list and the image; a signed URL opens the image (for <img>)."""
    sid = upload(gateway, 3)["id"]
    gateway.state.store.write_bytes_atomic(f"output/{sid}/slides/slide-002.jpg", JPEG)
    path = f"/output/{sid}/slides/slide-002.jpg"
    anonymous = {"Authorization": ""}
    assert gateway.client.get(f"/api/v1/sessions/{sid}/slides", headers=anonymous).status_code == 401
    assert gateway.client.get(path, headers=anonymous).status_code == 401
    signed = gateway.client.post("/api/v1/media-urls", json={"paths": [path]})
    assert signed.status_code == 200, signed.text
    opened = gateway.client.get(signed.json()["urls"][path], headers=anonymous)
    assert opened.status_code == 200 and opened.content == JPEG


def test_only_thumbnail_names_in_the_slides_directory_are_served(gateway: Gateway) -> None:
    """Other files next to the thumbnails, other extensions and traversal are 404."""
    sid = upload(gateway, 4)["id"]
    gateway.state.store.write_bytes_atomic(f"output/{sid}/slides/notes.txt", b"private")
    gateway.state.store.write_bytes_atomic(f"output/{sid}/slides/.slide-001.jpg", JPEG)
    for name in ("notes.txt", ".slide-001.jpg", "..%2F..%2Fsessions", "missing.jpg"):
        assert gateway.client.get(f"/output/{sid}/slides/{name}").status_code == 404, name


def test_the_worker_keeps_slides_inside_the_media_and_thumbnails_from_this_session_only() -> None:
    """A thumbnail path outside output/<id>/slides is dropped; slides past the end or repeated are dropped."""
    plan = analyzer_pb2.Plan(
        slides=[
            analyzer_pb2.Slide(
                start=30.0, title="  Energy   and work ", thumbnail="output/7/slides/slide-002.jpg"
            ),
            analyzer_pb2.Slide(start=0.0, title="Forces", thumbnail="output/8/slides/slide-001.jpg"),
            analyzer_pb2.Slide(start=30.0, title="Again"),
            analyzer_pb2.Slide(start=45.0, thumbnail="output/7/slides/../../../sessions/7/x.jpg"),
            analyzer_pb2.Slide(start=70.0, title="After the end"),
            analyzer_pb2.Slide(start=float("nan"), title="Nowhere"),
        ]
    )
    assert slide_entries(plan, 7, 60.0) == [
        SlideEntry(0.0, "Forces", ""),
        SlideEntry(30.0, "Energy and work", "slide-002.jpg"),
        SlideEntry(45.0, "", ""),
    ]


def test_chapters_take_the_title_of_the_slide_they_start_on() -> None:
    """On a titled slide (or one coming up within 5 s) the slide names the chapter; else the plan does."""
    plan = [
        (0.0, "Intro"),
        (30.0, "Kinetic energy"),
        (70.0, "Graphs"),
        (118.0, "Potential energy"),
        (150.0, "Wrap"),
    ]
    slides = [(0.0, "Lecture 4: Energy"), (33.0, "Kinetic Energy ½mv²"), (60.0, " 4 "), (120.0, "Potential")]
    got = chapters(plan, 200.0, slides)
    # 70 s starts on an untitled slide; at 150 s "Potential" is still up, but the chapter before has it.
    assert [c.title for c in got] == [
        "Lecture 4: Energy",
        "Kinetic Energy ½mv²",
        "Graphs",
        "Potential",
        "Wrap",
    ]
    assert [c.title for c in chapters(plan, 200.0)] == [n for _, n in plan]


def test_a_generic_slide_title_does_not_name_a_chapter() -> None:
    """ "Outline" or "Questions?" on screen say where the lecture is, not what the chapter teaches: the plan names it."""
    plan = [(0.0, "Intro"), (40.0, "Momentum"), (90.0, "Wrap-up")]
    slides = [(0.0, "Outline"), (40.0, "Conservation of momentum"), (90.0, "  Any questions? ")]
    got = chapters(plan, 150.0, slides)
    assert [c.title for c in got] == ["Intro", "Conservation of momentum", "Wrap-up"]


def test_the_chapters_endpoint_uses_the_stored_slides(gateway: Gateway) -> None:
    """GET /chapters names chapters from the session's slides where they have titles."""
    sid = upload(gateway, 5)["id"]
    entries = [PlanEntry("Forces", 0.5, 20.0, ""), PlanEntry("Energy", 25.0, 50.0, "")]
    seed.finish(gateway.state, sid, entries, duration=60.0)
    add_slides(gateway, sid, [SlideEntry(0.0, ""), SlideEntry(24.0, "Conservation of Energy")])
    body = gateway.client.get(f"/api/v1/sessions/{sid}/chapters").json()
    assert [c["title"] for c in body] == ["Forces", "Conservation of Energy"]


def test_control_characters_in_an_ocr_title_are_dropped_before_storing(gateway: Gateway) -> None:
    """PostgreSQL refuses a NUL in text: one stray OCR character must not fail the whole analysis."""
    sid = upload(gateway, 6)["id"]
    seed.finish(gateway.state, sid, [PlanEntry("Forces", 0.5, 50.0, "")], duration=60.0)
    plan = analyzer_pb2.Plan(slides=[analyzer_pb2.Slide(start=0.0, title="New\x00ton's\x07 laws\x1b[31m")])
    add_slides(gateway, sid, slide_entries(plan, sid, 60.0))
    assert [s["title"] for s in gateway.client.get(f"/api/v1/sessions/{sid}/slides").json()] == [
        "Newton's laws[31m"
    ]

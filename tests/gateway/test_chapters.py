"""GET /sessions/{id}/chapters: whole-lecture chapters from 0:00 by YouTube's rules, three formats."""

from __future__ import annotations

from aiat.analyzer.v1 import analyzer_pb2
from aiat_gateway.chapters import chapters, to_vtt, to_youtube
from aiat_gateway.plans import PlanEntry
from aiat_gateway.worker.pipeline import plan_entries
from tests.gateway import seed
from tests.gateway.conftest import Gateway
from tests.gateway.test_contract import upload


def test_chapters_cover_the_lecture_from_zero_with_ten_second_minimum() -> None:
    """A lead-in becomes 'Introduction'; a 4 s snippet folds into the one before; the last runs to the end."""
    got = chapters([(30.0, "Energy"), (5.0, "Forces"), (34.0, "Blip"), (90.0, "Momentum")], 200.0)
    assert [(c.start, c.end, c.title) for c in got] == [
        (0.0, 30.0, "Forces"),
        (30.0, 90.0, "Energy"),
        (90.0, 200.0, "Momentum"),
    ]
    late = chapters([(45.0, "Energy"), (100.0, "Momentum")], 3700.0)
    assert [c.title for c in late] == ["Introduction", "Energy", "Momentum"]
    assert to_youtube(late).splitlines() == ["0:00 Introduction", "0:45 Energy", "1:40 Momentum"]
    assert to_youtube(chapters([(3650.0, "Late")], 3700.0)).splitlines()[1] == "1:00:50 Late"
    assert "00:00:45.000 --> 00:01:40.000\nEnergy" in to_vtt(late)


def test_a_title_with_an_arrow_does_not_make_a_vtt_timing_line() -> None:
    """WebVTT cue text may not hold "-->" (a slide's "Input --> Output"): a parser would read a broken cue."""
    vtt = to_vtt(chapters([(0.0, "Input --> Output"), (30.0, "Energy ---> heat")], 60.0))
    assert vtt.count("-->") == 2, vtt
    assert "\nInput → Output\n" in vtt and "\nEnergy -→ heat\n" in vtt


def test_the_endpoint_in_three_formats_and_youtube_needs_three(gateway: Gateway) -> None:
    """JSON and VTT for any plan; YouTube lines when the rules are met, 409 with the reason when not."""
    session = upload(gateway, 1)
    entries = [PlanEntry("Newton's laws", 0.5, 20.0, ""), PlanEntry("Energy", 25.0, 50.0, "")]
    seed.finish(gateway.state, session["id"], entries, duration=60.0)
    url = f"/api/v1/sessions/{session['id']}/chapters"
    body = gateway.client.get(url).json()
    assert body == [
        {"start": 0.0, "end": 25.0, "title": "Newton's laws"},
        {"start": 25.0, "end": 60.0, "title": "Energy"},
    ]
    vtt = gateway.client.get(url, params={"format": "vtt"})
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT")
    short = gateway.client.get(url, params={"format": "youtube"})
    assert short.status_code == 409 and "at least 3" in short.text
    other = upload(gateway, 2)
    three = [
        PlanEntry("Forces", 12.0, 40.0, ""),
        PlanEntry("Energy", 40.0, 70.0, ""),
        PlanEntry("Work", 70.0, 90.0, ""),
    ]
    seed.finish(gateway.state, other["id"], three, duration=100.0)
    yt = gateway.client.get(f"/api/v1/sessions/{other['id']}/chapters", params={"format": "youtube"})
    assert yt.status_code == 200
    assert yt.text.splitlines() == ["0:00 Introduction", "0:12 Forces", "0:40 Energy", "1:10 Work"]
    assert gateway.client.get(url, params={"format": "srt"}).status_code == 422


def test_no_plan_yet_is_a_conflict(gateway: Gateway) -> None:
    """A session still in progress has no chapters."""
    session = upload(gateway, 3)
    assert gateway.client.get(f"/api/v1/sessions/{session['id']}/chapters").status_code == 409


def test_analyzer_advisories_are_stored_and_exposed_with_their_snippet(gateway: Gateway) -> None:
    """The plan's advisories (kind, message, the fix) come back as a snippet field; none for a person's plan."""
    plan = analyzer_pb2.Plan(
        engine="lexical",
        snippets=[
            analyzer_pb2.PlannedSnippet(
                name="Energy",
                start=12.0,
                end=40.0,
                advisories=[
                    analyzer_pb2.Advisory(
                        kind="opens_with_reference", message="opens with 'it'", suggested_start=9.5
                    )
                ],
            )
        ],
    )
    session = upload(gateway, 4)
    seed.finish(gateway.state, session["id"], plan_entries(plan, 60.0))
    snippet = gateway.client.get(f"/api/v1/sessions/{session['id']}/results").json()["snippets"][0]
    assert snippet["advisories"] == [
        {
            "kind": "opens_with_reference",
            "message": "opens with 'it'",
            "suggested_start": 9.5,
            "suggested_end": None,
        }
    ]
    edited = gateway.client.patch(
        f"/api/v1/sessions/{session['id']}/plan",
        json={"snippets": [{"name": "Mine", "start": 1.0, "end": 30.0}]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["snippets"][0]["advisories"] == []

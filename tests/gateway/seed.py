"""Put sessions into later states directly in the DB (what the worker would have done)."""

from __future__ import annotations

from aiat import transcripts
from aiat.common.v1 import transcript_pb2
from aiat_gateway.api.deps import AppState
from aiat_gateway.db.models import LectureSession, Status
from aiat_gateway.plans import PlanEntry, replace_plan

LINK = "https://drive.google.com/file/d/{}/view?usp=sharing"


def file_id(n: int) -> str:
    """A Drive-looking file id, distinct per n."""
    return f"1AbCdEfGhIjKlMnOpQrStUvWxYz{n:06d}"


def sample_transcript(duration: float = 60.0) -> transcript_pb2.Transcript:
    """A two-segment transcript with word timings."""
    words1 = [
        transcript_pb2.Word(start=1.0 + i * 0.5, end=1.4 + i * 0.5, text=f" w{i}", probability=0.9)
        for i in range(4)
    ]
    words2 = [
        transcript_pb2.Word(start=30.0 + i * 0.5, end=30.4 + i * 0.5, text=f" v{i}", probability=0.8)
        for i in range(3)
    ]
    return transcript_pb2.Transcript(
        language="en",
        duration=duration,
        segments=[
            transcript_pb2.Segment(
                id=0, start=1.0, end=2.9, text=" Force equals mass times acceleration.", words=words1
            ),
            transcript_pb2.Segment(id=1, start=30.0, end=31.4, text=" Energy is conserved.", words=words2),
        ],
    )


def finish(state: AppState, session_id: int, entries: list[PlanEntry], duration: float = 60.0) -> None:
    """Mark a session Finished with media, a transcript and the given plan."""
    media_rel = f"{state.store.session_dir(session_id)}/lecture.mp4"
    state.store.write_bytes_atomic(media_rel, b"not really a video; the worker is not running in these tests")
    transcript_rel = f"{state.store.session_dir(session_id)}/transcript.json"
    state.store.write_bytes_atomic(transcript_rel, transcripts.dumps(sample_transcript(duration)))
    with state.session_factory() as db:
        session = db.get(LectureSession, session_id)
        assert session is not None
        session.media_path = media_rel
        session.media_duration = duration
        session.transcript_path = transcript_rel
        session.job_status = Status.FINISHED
        replace_plan(db, session, entries, origin="analyzer")
        db.commit()


def fail(state: AppState, session_id: int, message: str) -> None:
    """Mark a session Failed with an error message."""
    with state.session_factory() as db:
        session = db.get(LectureSession, session_id)
        assert session is not None
        session.job_status = Status.FAILED
        session.error_message = message
        db.commit()

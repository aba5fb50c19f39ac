"""The committed protobuf code matches proto/ (`make proto` regenerates it)."""

from __future__ import annotations

from pathlib import Path

from aiat.protogen import ROOT, generate


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    written = generate(tmp_path)
    committed = ROOT / "libs"
    stale = [
        str(path.relative_to(tmp_path))
        for path in written
        if not (committed / path.relative_to(tmp_path)).is_file()
        or (committed / path.relative_to(tmp_path)).read_bytes() != path.read_bytes()
    ]
    assert not stale, f"generated code is stale, run `make proto`: {stale}"


def test_service_names_follow_the_convention() -> None:
    from aiat.analyzer.v1 import analyzer_pb2
    from aiat.renderer.v1 import renderer_pb2
    from aiat.transcriber.v1 import transcriber_pb2

    names = {
        transcriber_pb2.DESCRIPTOR.services_by_name["TranscriberService"].full_name,
        analyzer_pb2.DESCRIPTOR.services_by_name["AnalyzerService"].full_name,
        renderer_pb2.DESCRIPTOR.services_by_name["RendererService"].full_name,
    }
    assert names == {
        "aiat.transcriber.v1.TranscriberService",
        "aiat.analyzer.v1.AnalyzerService",
        "aiat.renderer.v1.RendererService",
    }

"""Generate the Python protobuf/gRPC code from proto/ (used by `make proto` and the staleness test)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"


def proto_files() -> list[Path]:
    """Every .proto file under proto/, sorted."""
    return sorted(PROTO_DIR.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Run protoc (grpcio-tools) into out_dir and add package __init__ files; returns the files written."""
    from grpc_tools import protoc  # dev dependency: imported only when generating

    out_dir.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--pyi_out={out_dir}",
        *[str(p) for p in proto_files()],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed")
    written: list[Path] = []
    for proto in proto_files():
        rel = proto.parent.relative_to(PROTO_DIR)
        pkg_dir = out_dir / rel
        # Every package level below the top one (aiat/ itself is a hand-written package).
        for depth in range(2, len(rel.parts) + 1):
            init = out_dir.joinpath(*rel.parts[:depth]) / "__init__.py"
            if not init.exists():
                init.write_text("")
        stem = proto.stem
        written += [pkg_dir / f"{stem}_pb2.py", pkg_dir / f"{stem}_pb2.pyi", pkg_dir / f"{stem}_pb2_grpc.py"]
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "libs"
    for path in generate(target):
        print(path.relative_to(target))

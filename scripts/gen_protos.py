"""Regenerate corral/v1/*_pb2*.py and their .pyi stubs from proto/ (pinned tools in pyproject)."""

from __future__ import annotations

import pathlib
import shutil
import sys

from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
BIN = pathlib.Path(sys.executable).parent


def generate(out_dir: pathlib.Path) -> None:
    """Writes the generated modules for every proto file into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={BIN / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={BIN / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    (out_dir / "corral" / "v1" / "__init__.py").write_text(
        '"""Generated protobuf and gRPC modules of the corral.v1 API (see proto/)."""\n'
    )


def main() -> None:
    """Regenerates into the tree, or into the directory given as the first argument."""
    target = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    if target == ROOT:
        shutil.rmtree(ROOT / "corral" / "v1", ignore_errors=True)
    generate(target)


if __name__ == "__main__":
    main()

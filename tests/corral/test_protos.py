"""The generated code in corral/v1 is what scripts/gen_protos.py makes from proto/."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_generated_code_is_fresh(tmp_path: pathlib.Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = {p.name: p.read_text() for p in (tmp_path / "corral" / "v1").iterdir()}
    checked_in = {p.name: p.read_text() for p in (ROOT / "corral" / "v1").iterdir() if p.is_file()}
    stale = sorted(
        name for name in fresh.keys() | checked_in.keys() if fresh.get(name) != checked_in.get(name)
    )
    assert not stale, f"regenerate with `make protos`: {stale}"

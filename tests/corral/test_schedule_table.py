"""``corral schedules`` on a terminal says whose frequency each schedule runs at."""

from __future__ import annotations

from corral.cli._plain import plain
from corral.cli._tables import SCHEDULES
from corral.v1 import orchestrator_pb2 as pb


def test_a_schedule_shows_whether_its_frequency_is_the_connections_or_the_syncs() -> None:
    own = pb.SyncSchedule(
        sync_name="issues",
        connection_id="fast",
        frequency_seconds=300,
        frequency_override_seconds=300,
    )
    usual = pb.SyncSchedule(sync_name="issues", connection_id="usual", frequency_seconds=3600)
    listing = plain(pb.ListSyncSchedulesResponse(schedules=[own, usual]))
    lines = SCHEDULES.render(listing, width=200).splitlines()
    assert "SET BY" in lines[0]
    assert "connection" in next(line for line in lines if "fast" in line)
    assert "sync" in next(line for line in lines if "usual" in line).split("usual", 1)[1]

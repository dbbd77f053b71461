"""A recorded directory sync history still replays: changes must not break running syncs."""

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.directory_sync import DirectorySyncWorkflow

HISTORY = Path(__file__).with_name("histories") / "directory_sync.json"


async def test_recorded_directory_sync_replays() -> None:
    history = WorkflowHistory.from_json("directory-sync", HISTORY.read_text())
    assert len(history.events) > 10
    await Replayer(
        workflows=[DirectorySyncWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history)

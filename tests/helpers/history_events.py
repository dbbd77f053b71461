"""What a recorded workflow history holds, read from its events: patches and activities."""

from __future__ import annotations

import json

from temporalio.api.history.v1 import MarkerRecordedEventAttributes
from temporalio.client import WorkflowHistory


def patch_ids(history: WorkflowHistory) -> list[str]:
    """The ``workflow.patched`` ids the history recorded, in order."""
    return [
        json.loads(marker.details["patch-data"].payloads[0].data)["id"]
        for marker in _markers(history)
        if marker.marker_name == "core_patch"
    ]


def activity_types(history: WorkflowHistory) -> tuple[list[str], list[str]]:
    """The activities the history ran: ordinary ones as scheduled, local ones from their markers."""
    ordinary = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    local = [
        json.loads(marker.details["data"].payloads[0].data)["activity_type"]
        for marker in _markers(history)
        if marker.marker_name == "core_local_activity"
    ]
    return ordinary, local


def _markers(history: WorkflowHistory) -> list[MarkerRecordedEventAttributes]:
    return [
        event.marker_recorded_event_attributes
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
    ]

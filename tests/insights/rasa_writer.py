"""Writes conversations into a tracker store with Rasa's own SQLTrackerStore, as the running bot does.

Run with the Rasa environment's Python (.venv-rasa, Python 3.10, rasa 3.6): reads {"url": SQLAlchemy URL,
"conversations": [{"sender_id": …, "events": [event dicts as Rasa's Event.as_dict() gives them]}]} from
stdin. Each event is rebuilt with Event.from_parameters and saved with SQLTrackerStore.save, so the rows
(type_name, timestamp, intent_name, action_name, data) are exactly those Rasa writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import warnings


async def main() -> None:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # a SlotSet of a slot this tracker has no domain for is logged, not refused
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy.engine import make_url

    request = json.load(sys.stdin)
    url = make_url(request["url"])
    dialect = url.get_backend_name()
    store = SQLTrackerStore(
        dialect=dialect,
        host=url.host,
        port=url.port,
        db=url.database,
        username=url.username,
        password=url.password,
    )
    for conversation in request["conversations"]:
        events = [Event.from_parameters(event) for event in conversation["events"]]
        tracker = DialogueStateTracker.from_events(conversation["sender_id"], events, slots=[])
        await store.save(tracker)


if __name__ == "__main__":
    asyncio.run(main())

"""One list of event types: the enum, what the stream renders for each, and what the page is told."""

from __future__ import annotations

from mockserver.api.stream import EVENT_DATA
from mockserver.simulation.events import EventBus, EventType


async def test_the_page_is_told_every_event_type_and_only_those(mock):
    response = await mock.get("/_mock/event-types")
    assert response.status == 200
    assert (await response.json())["event_types"] == [event_type.value for event_type in EventType]


def test_the_stream_knows_what_to_send_for_every_event_type():
    assert set(EVENT_DATA) == set(EventType)


def test_subscribing_to_a_type_that_does_not_exist_is_an_error():
    bus = EventBus()
    try:
        bus.subscribe(lambda event: None, ("message.exploded",))
    except ValueError as exc:
        assert "message.exploded" in str(exc)
    else:
        raise AssertionError("an unknown event type was accepted")


def test_a_listener_gets_the_types_it_subscribed_to_by_name():
    bus, seen = EventBus(), []
    bus.subscribe(seen.append, ("message.status",))
    bus.publish(EventType.MESSAGE_STATUS, "subject")
    bus.publish(EventType.MESSAGE_ACCEPTED, "other")
    assert [(event.type, event.subject) for event in seen] == [(EventType.MESSAGE_STATUS, "subject")]

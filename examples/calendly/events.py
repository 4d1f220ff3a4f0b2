"""Syncs Calendly scheduled events (link pagination in the body, the catalogue's default) and
applies cancellations pushed by webhooks as partial updates."""

from nango import create_sync
from pydantic import BaseModel


class Event(BaseModel):
    id: str
    name: str
    status: str
    start_time: str


def uri_id(uri):
    return uri.rstrip("/").rsplit("/", 1)[-1]


def to_event(raw):
    return Event(
        id=uri_id(raw["uri"]), name=raw["name"], status=raw["status"], start_time=raw["start_time"]
    )


def fetch(nango):
    me = nango.get(endpoint="/users/me").data["resource"]["uri"]
    pages = nango.paginate(
        endpoint="/scheduled_events",
        params={"user": me, "count": 2},
        paginate={"response_path": "collection"},
    )
    for page in pages:
        nango.batch_save([to_event(raw) for raw in page], "Event")


def on_webhook(nango, payload):
    if payload.get("event") != "invitee.canceled":
        return
    event = payload["payload"]["scheduled_event"]
    nango.batch_update([{"id": uri_id(event["uri"]), "status": "canceled"}], "Event")


sync = create_sync(
    description="Calendly scheduled events, with cancellations from webhooks",
    version="1.0.0",
    frequency="every hour",
    models={"Event": Event},
    on_webhook=on_webhook,
    webhook_subscriptions=["invitee.canceled"],
    exec=fetch,
)

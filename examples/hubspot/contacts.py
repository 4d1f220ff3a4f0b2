"""Syncs HubSpot contacts incrementally: cursor pagination (the catalogue's defaults) and a
checkpoint holding the newest `updatedAt` seen, so the next run skips what it already has."""

from nango import create_sync

from .models import Contact, ContactsCheckpoint, to_contact


def fetch(nango):
    checkpoint = nango.get_checkpoint() or {}
    since = checkpoint.get("updated_after", "")
    newest = since
    pages = nango.paginate(
        endpoint="/crm/v3/objects/contacts",
        params={"properties": "email,firstname,lastname"},
        paginate={"limit": 2},
    )
    for page in pages:
        fresh = [raw for raw in page if not since or raw["updatedAt"] > since]
        nango.batch_save([to_contact(raw) for raw in fresh], "Contact")
        for raw in fresh:
            newest = max(newest, raw["updatedAt"])
        nango.save_checkpoint(ContactsCheckpoint(updated_after=newest))


sync = create_sync(
    description="HubSpot contacts, incrementally",
    version="1.0.0",
    frequency="every 30 minutes",
    auto_start=True,
    models={"Contact": Contact},
    checkpoint=ContactsCheckpoint,
    exec=fetch,
)

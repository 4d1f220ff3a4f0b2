"""HubSpot models shared by the contact functions."""

from pydantic import BaseModel, Field


class Contact(BaseModel):
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    updated_at: str


class ContactsCheckpoint(BaseModel):
    updated_after: str = ""


class NewContact(BaseModel):
    email: str = Field(min_length=3)
    first_name: str = ""
    last_name: str = ""


class CreatedContact(BaseModel):
    id: str
    email: str


def to_contact(raw):
    properties = raw.get("properties") or {}
    return Contact(
        id=str(raw["id"]),
        email=properties.get("email"),
        first_name=properties.get("firstname"),
        last_name=properties.get("lastname"),
        updated_at=raw["updatedAt"],
    )

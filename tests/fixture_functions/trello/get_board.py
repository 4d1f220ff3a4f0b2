"""Reads one Trello board by id, cut down to the fields the output declares."""

from typing import Any
from urllib.parse import quote

from nango import create_action
from pydantic import BaseModel, Field


class BoardInput(BaseModel):
    id: str


class Board(BaseModel):
    """The board's fields this action returns; Trello's camelCase names are the aliases."""

    id: str
    name: str
    desc: str | None = None
    closed: bool | None = None
    id_member_creator: str | None = Field(default=None, alias="idMemberCreator")
    id_organization: str | None = Field(default=None, alias="idOrganization")
    pinned: bool | None = None
    url: str | None = None
    short_url: str | None = Field(default=None, alias="shortUrl")
    starred: bool | None = None
    subscribed: bool | None = None
    date_last_activity: str | None = Field(default=None, alias="dateLastActivity")
    date_last_view: str | None = Field(default=None, alias="dateLastView")
    short_link: str | None = Field(default=None, alias="shortLink")
    creation_method: str | None = Field(default=None, alias="creationMethod")
    enterprise_owned: bool | None = Field(default=None, alias="enterpriseOwned")
    ix_update: int | None = Field(default=None, alias="ixUpdate")
    label_names: dict[str, str] | None = Field(default=None, alias="labelNames")
    prefs: dict[str, Any] | None = None


def get_board(nango, input):
    response = nango.get(
        # https://developer.atlassian.com/cloud/trello/rest/api-group-boards/#api-boards-id-get
        endpoint=f"/1/boards/{quote(input.id, safe='')}",
        retries=3,
    )
    return Board.model_validate(response.data)


action = create_action(
    description="Read a Trello board",
    version="1.0.0",
    input=BoardInput,
    output=Board,
    exec=get_board,
)

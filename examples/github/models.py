"""Models shared by the GitHub functions (imported relatively)."""

from pydantic import BaseModel, Field


class CreateIssueInput(BaseModel):
    owner: str = Field(min_length=1)
    repo: str = Field(min_length=1)
    title: str = Field(min_length=1, max_length=256)
    body: str = ""
    labels: list[str] = []


class CreatedIssue(BaseModel):
    id: str
    number: int
    url: str


class Issue(BaseModel):
    id: str
    number: int
    title: str
    state: str
    url: str

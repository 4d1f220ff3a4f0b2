"""Adds a comment to a Box file and returns the created comment."""

from nango import create_action
from pydantic import BaseModel


class CommentInput(BaseModel):
    file_id: str
    message: str


class User(BaseModel):
    id: str
    type: str
    name: str | None = None
    login: str | None = None


class Item(BaseModel):
    id: str
    type: str


class Comment(BaseModel):
    id: str
    type: str
    message: str | None = None
    tagged_message: str | None = None
    is_reply_comment: bool | None = None
    created_by: User | None = None
    created_at: str | None = None
    modified_at: str | None = None
    item: Item | None = None


def create_comment(nango, input):
    response = nango.post(
        # https://developer.box.com/reference/post-comments/
        endpoint="/2.0/comments",
        data={"item": {"type": "file", "id": input.file_id}, "message": input.message},
        retries=10,
    )
    return Comment.model_validate(response.data)


action = create_action(
    description="Create a comment on a Box file",
    version="1.0.0",
    input=CommentInput,
    output=Comment,
    scopes=["root_readwrite"],
    exec=create_comment,
)

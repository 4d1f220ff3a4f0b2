# ruff: noqa: UP006, UP007, UP017, UP035, UP045 - the typing forms of older code are part of the test
"""Function code using pydantic the ordinary way: none of it may trip the raw-schema guards.

Run through the real sandbox by ``test_legit_schemas.py``; the action returns what it built.
"""

import datetime
import decimal
import enum
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Dict, List, Literal, Optional, Self, Tuple, Union

from nango import create_action
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    conint,
    conlist,
    constr,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class Owner(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    login: constr(min_length=1, max_length=40)
    age: conint(ge=0) = 0


class Issue(BaseModel):
    id: int = Field(gt=0, description="the issue number", json_schema_extra={"examples": [1]})
    title: Annotated[str, BeforeValidator(strip), AfterValidator(str.title)]
    state: Literal["open", "closed"] = "open"
    color: Color = Color.RED
    owner: Optional[Owner] = None
    assignees: List[Owner] = []
    labels: conlist(str, max_length=5) = []
    points: list[Point] = []
    by_name: Dict[str, Owner] = {}
    scores: dict[str, float | None] = {}
    span: Tuple[int, int] = (0, 0)
    either: Union[int, str] = 0
    created: datetime.datetime = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    due: Optional[datetime.date] = None
    price: decimal.Decimal = decimal.Decimal("1.50")
    ref: uuid.UUID = uuid.UUID(int=1)
    extra: Dict[str, Any] = {}

    @field_validator("title")
    @classmethod
    def title_not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("blank title")
        return value

    @model_validator(mode="after")
    def closed_has_owner(self) -> Self:
        return self

    @field_serializer("price")
    def price_as_text(self, value: decimal.Decimal) -> str:
        return str(value)

    @computed_field
    @property
    def label_count(self) -> int:
        return len(self.labels)

    @computed_field(return_type=str)
    @property
    def slug(self):
        return self.title.lower().replace(" ", "-")


class Awkward(BaseModel):
    """Field names and defaults that look like schema keys."""

    type: str = "model"
    cls: int = 0
    from_attributes: bool = True
    property_name: str = "__class__"
    shape: dict[str, Any] = {"type": "model", "cls": 1, "from_attributes": True}
    tags: list[Any] = Field(
        default=[{"type": "dataclass", "cls": "x"}], json_schema_extra={"type": "model"}
    )


class Cat(BaseModel):
    pet_type: Literal["cat"]
    meows: int = 0


class Dog(BaseModel):
    pet_type: Literal["dog"]
    barks: int = 0


class Owned(BaseModel):
    """A discriminated union: pydantic reads the tag by attribute (``from_attributes``)."""

    pet: Union[Cat, Dog] = Field(discriminator="pet_type")
    pets: list[Annotated[Union[Cat, Dog], Field(discriminator="pet_type")]] = []


class Summary(BaseModel):
    total: int
    issues: list[Issue]

    @model_serializer(mode="plain")
    def dump(self) -> dict[str, Any]:
        return {"total": self.total, "ids": [issue.id for issue in self.issues]}


def run(nango, input):
    issue = Issue(
        id=7,
        title="  fix the thing ",
        owner={"login": " ana "},
        assignees=[Owner(login="bo", age=3)],
        labels=["bug"],
        points=[Point(1, 2, ["a"])],
        by_name={"ana": {"login": "ana"}},
        scores={"a": 1.5, "b": None},
        span=(1, 2),
        either="x",
        due="2024-02-03",
    )
    try:
        Issue(id=0, title="x")
        refused = False
    except ValidationError:
        refused = True
    return {
        "issue": issue.model_dump(mode="json"),
        "summary": Summary(total=1, issues=[issue]).model_dump(),
        "refused": refused,
        "awkward": Awkward(type="dataclass").model_dump(),
        "owned": Owned(
            pet={"pet_type": "dog", "barks": 2}, pets=[Cat(pet_type="cat")]
        ).model_dump(),
        "copy": Issue.model_validate(issue.model_dump()).model_dump(mode="json")
        == issue.model_dump(mode="json"),
    }


action = create_action(description="ordinary pydantic", version="1.0.0", exec=run)

"""Expenses of a Splitwise account, incrementally by last update; deleted ones are deleted.

``get_expenses`` pages by offset; a page shorter than the limit is the last one. Expenses that
Splitwise reports as deleted (``deleted_at``) are passed to ``batch_delete``. The checkpoint is
the latest update seen, so the next run asks only for expenses updated after it.
"""

from typing import Any

from nango import create_sync
from pydantic import BaseModel, Field


class Repayment(BaseModel):
    from_user: int = Field(alias="from")
    to: int
    amount: str


class Category(BaseModel):
    id: int
    name: str


class Receipt(BaseModel):
    large: str | None = None
    original: str | None = None


class Expense(BaseModel):
    id: str
    cost: str | None = None
    description: str | None = None
    details: str | None = None
    date: str | None = None
    repeat_interval: str | None = None
    currency_code: str | None = None
    category_id: int | None = None
    group_id: int | None = None
    friendship_id: int | None = None
    expense_bundle_id: int | None = None
    repeats: bool | None = None
    email_reminder: bool | None = None
    email_reminder_in_advance: str | None = None
    next_repeat: str | None = None
    comments_count: int | None = None
    payment: bool | None = None
    transaction_confirmed: bool | None = None
    repayments: list[Repayment] | None = None
    created_at: str | None = None
    created_by: dict[str, Any] | None = None
    updated_at: str | None = None
    updated_by: dict[str, Any] | None = None
    deleted_by: dict[str, Any] | None = None
    category: Category | None = None
    receipt: Receipt | None = None
    users: list[dict[str, Any]] | None = None
    comments: list[dict[str, Any]] | None = None


class Checkpoint(BaseModel):
    updated_after: str


PAGE_SIZE = 5


def to_expense(raw):
    """An Expense with the fields Splitwise gave a value; null ones stay unset.

    ``deleted_at`` is not a field: a deleted expense is deleted, not saved.
    """
    fields = {k: v for k, v in raw.items() if k in Expense.model_fields and v is not None}
    fields["id"] = str(raw["id"])
    if raw.get("email_reminder_in_advance") is not None:
        fields["email_reminder_in_advance"] = str(raw["email_reminder_in_advance"])
    if raw.get("receipt") is not None:
        fields["receipt"] = {k: v for k, v in raw["receipt"].items() if v is not None}
    return Expense.model_validate(fields)


def last_change(raw):
    """When an expense last changed: its update, deletion, creation or date."""
    for key in ("updated_at", "deleted_at", "created_at", "date"):
        if raw.get(key):
            return raw[key]
    return ""


def fetch_expenses(nango):
    checkpoint = nango.get_checkpoint()
    params = {"limit": PAGE_SIZE}
    if checkpoint:
        params["updated_after"] = checkpoint["updated_after"]
    latest = ""
    pages = nango.paginate(
        # https://dev.splitwise.com/#tag/expenses/paths/~1get_expenses/get
        endpoint="/api/v3.0/get_expenses",
        params=params,
        paginate={
            "type": "offset",
            "offset_name_in_request": "offset",
            "offset_calculation_method": "by-response-size",
            "limit_name_in_request": "limit",
            "limit": PAGE_SIZE,
            "response_path": "expenses",
        },
        retries=3,
    )
    for page in pages:
        live = [to_expense(raw) for raw in page if not raw.get("deleted_at")]
        gone = [{"id": str(raw["id"])} for raw in page if raw.get("deleted_at")]
        if live:
            nango.batch_save(live, "Expense")
        if gone:
            nango.batch_delete(gone, "Expense")
        latest = max([latest] + [last_change(raw) for raw in page])
    if latest:
        nango.save_checkpoint({"updated_after": latest})


sync = create_sync(
    description="Expenses of a Splitwise account",
    version="1.0.0",
    frequency="every hour",
    auto_start=True,
    models={"Expense": Expense},
    checkpoint=Checkpoint,
    exec=fetch_expenses,
)

"""Pages of the Canva designs named in the connection's metadata (``design_ids``).

Each design's pages are read by page-number offset (``offset`` starts at 1 and counts pages).
The checkpoint holds the design and the offset to resume from; a complete run clears it.
Deletions are tracked only by a run that starts from the first design: a resumed run has not
seen every page.
"""

from urllib.parse import quote

from nango import create_sync
from pydantic import BaseModel


class Dimensions(BaseModel):
    width: float
    height: float


class Thumbnail(BaseModel):
    width: float
    height: float
    url: str


class DesignPage(BaseModel):
    id: str
    design_id: str
    page_number: int
    design_type: str | None = None
    dimensions: Dimensions | None = None
    thumbnail: Thumbnail | None = None


class Metadata(BaseModel):
    design_ids: list[str]


class Checkpoint(BaseModel):
    design_index: int
    offset: int


PAGE_SIZE = 50


def to_page(design_id, item):
    number = item.get("page_number")
    if number is None:
        number = item.get("index") or 0
    fields = {"design_id": design_id, "page_number": number}
    fields["id"] = f"{design_id}:{item['id']}" if item.get("id") else f"{design_id}:{number}"
    for key in ("design_type", "dimensions", "thumbnail"):
        if item.get(key) is not None:
            fields[key] = item[key]
    return DesignPage.model_validate(fields)


def sync_design(nango, index, design_id, start):
    """Saves one design's pages from page ``start``, checkpointing after each page."""
    pages = nango.paginate(
        # https://www.canva.dev/docs/connect/api-reference/designs/get-design-pages/
        endpoint=f"/rest/v1/designs/{quote(design_id, safe='')}/pages",
        paginate={
            "type": "offset",
            "offset_name_in_request": "offset",
            "offset_start_value": start,
            "offset_calculation_method": "per-page",
            "limit_name_in_request": "limit",
            "limit": PAGE_SIZE,
            "response_path": "items",
        },
        retries=3,
    )
    for number, page in enumerate(pages):
        nango.batch_save([to_page(design_id, item) for item in page], "DesignPage")
        # "per-page" offsets count pages: the next one to read is start + pages read.
        nango.save_checkpoint({"design_index": index, "offset": start + number + 1})


def fetch_design_pages(nango):
    metadata = Metadata.model_validate(nango.get_metadata())
    checkpoint = nango.get_checkpoint()
    first = checkpoint["design_index"] if checkpoint else 0
    offset = checkpoint["offset"] if checkpoint else 1
    if checkpoint is None:
        nango.track_deletes_start("DesignPage")
    for index in range(first, len(metadata.design_ids)):
        start = offset if index == first else 1
        sync_design(nango, index, metadata.design_ids[index], start)
        nango.save_checkpoint({"design_index": index + 1, "offset": 1})
    nango.clear_checkpoint()
    if checkpoint is None:
        nango.track_deletes_end("DesignPage")


sync = create_sync(
    description="Pages of the Canva designs listed in the connection's metadata",
    version="1.0.0",
    frequency="every hour",
    auto_start=False,
    models={"DesignPage": DesignPage},
    metadata=Metadata,
    checkpoint=Checkpoint,
    scopes=["design:content:read"],
    exec=fetch_design_pages,
)

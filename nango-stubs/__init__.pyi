"""Types of the ``nango`` module that corral gives function code (PEP 561 stubs).

At run time the module exists only inside corral's sandbox; these stubs let an editor complete
and mypy check function code::

    from nango import Nango, create_sync

    def fetch(nango: Nango) -> None:
        for page in nango.paginate(endpoint="/issues", paginate={"type": "link", ...}):
            nango.batch_save(page, "Issue")
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol, Required, TypedDict, Unpack, type_check_only

from pydantic import BaseModel

LogLevel = Literal["debug", "info", "warn", "error"]
LoggerLevel = Literal["debug", "info", "warn", "error", "off"]
ResponseType = Literal["arraybuffer", "blob", "document", "json", "text", "stream"]
Event = Literal["post-connection-creation", "pre-connection-deletion", "validate-connection"]
Model = type[BaseModel]
Record = BaseModel | Mapping[str, Any]

class Response:
    """An HTTP response (the seed's axios response)."""

    data: Any
    status: int
    headers: Mapping[str, Any]
    config: Mapping[str, Any]
    request: Mapping[str, Any]

class HttpError(Exception):
    """A proxied request answered with a status outside 2xx (``script_http_error``)."""

    response: Response
    status: int

class NangoError(Exception):
    """An SDK call failed with a typed error (``script_network_error``, a nested action's...)."""

    type: str
    code: str
    message: str
    payload: Any

class ActionError(Exception):
    """Raise to return ``{"error_type": "action_script_failure", "payload": payload}``."""

    payload: Any
    def __init__(self, payload: Any = None) -> None: ...

class PaginationState(TypedDict):
    """What ``on_page`` receives after each page."""

    next_page_param: str | int | float | None
    response: Response

class Paginate(TypedDict, total=False):
    """The seed's pagination settings (merged over the provider's defaults)."""

    type: Literal["cursor", "link", "offset"]
    limit_name_in_request: str
    limit: int
    response_path: str
    cursor_path_in_response: str
    cursor_name_in_request: str
    link_rel_in_response_header: str
    link_path_in_response_body: str
    offset_name_in_request: str
    offset_start_value: int
    offset_calculation_method: Literal["per-page", "by-response-size"]
    in_body: bool
    on_page: Callable[[PaginationState], object]

class RequestOptions(TypedDict, total=False):
    """A request's options, as keyword arguments."""

    endpoint: str
    method: str
    headers: Mapping[str, str | int | float]
    params: Mapping[str, str | int | float | bool | Sequence[str | int | float] | None] | str
    data: Any
    retries: int
    retry_on: Sequence[int]
    base_url_override: str
    decompress: bool
    response_type: ResponseType
    paginate: Paginate
    provider_config_key: str
    connection_id: str

class RequestConfig(RequestOptions, total=False):
    """A request's options, as one dict (``endpoint`` is required)."""

    endpoint: Required[str]

class EnvironmentVariable(TypedDict):
    name: str
    value: str

class Nango(Protocol):
    """The ``nango`` object a function receives; every method is a call to corral."""

    @property
    def variant(self) -> str: ...
    def proxy(
        self, config: RequestConfig | None = None, **options: Unpack[RequestOptions]
    ) -> Response: ...
    def get(
        self, config: RequestConfig | None = None, **options: Unpack[RequestOptions]
    ) -> Response: ...
    def post(
        self, config: RequestConfig | None = None, **options: Unpack[RequestOptions]
    ) -> Response: ...
    def put(
        self, config: RequestConfig | None = None, **options: Unpack[RequestOptions]
    ) -> Response: ...
    def patch(
        self, config: RequestConfig | None = None, **options: Unpack[RequestOptions]
    ) -> Response: ...
    def delete(
        self, config: RequestConfig | None = None, **options: Unpack[RequestOptions]
    ) -> Response: ...
    def paginate(
        self, config: RequestConfig | None = None, **options: Unpack[RequestOptions]
    ) -> Iterator[Any]: ...
    def log(self, message: object, *meta: object, level: LogLevel | None = None) -> None: ...
    def set_logger(self, level: LoggerLevel = "info") -> None: ...
    def get_environment_variables(self) -> list[EnvironmentVariable]: ...
    def get_connection(
        self,
        provider_config_key_override: str | None = None,
        connection_id_override: str | None = None,
        *,
        force_refresh: bool = False,
        refresh_token: bool = False,
        refresh_github_app_jwt_token: bool = False,
    ) -> dict[str, Any]: ...
    def get_integration(
        self, include: Sequence[Literal["credentials"]] | None = None
    ) -> dict[str, Any]: ...
    def get_metadata(self) -> dict[str, Any]: ...
    def set_metadata(self, metadata: Mapping[str, Any] | BaseModel) -> None: ...
    def update_metadata(self, metadata: Mapping[str, Any] | BaseModel) -> None: ...
    def trigger_action(self, action_name: str, input: Any = None) -> Any: ...
    def get_checkpoint(self) -> dict[str, Any] | None: ...
    def save_checkpoint(self, checkpoint: Mapping[str, Any] | BaseModel) -> None: ...
    def clear_checkpoint(self) -> None: ...
    def batch_save(self, records: Sequence[Record], model: str) -> bool: ...
    def batch_delete(self, records: Sequence[Record], model: str) -> bool: ...
    def batch_update(self, records: Sequence[Record], model: str) -> bool: ...
    def get_records_by_id(self, ids: Sequence[str | int], model: str) -> dict[str, Any]: ...
    def track_deletes_start(self, model: str) -> None: ...
    def track_deletes_end(self, model: str) -> None: ...

@type_check_only
class SyncDefinition:
    """What ``create_sync`` returns (bind it to a module-level name)."""

@type_check_only
class ActionDefinition:
    """What ``create_action`` returns (bind it to a module-level name)."""

@type_check_only
class OnEventDefinition:
    """What ``create_on_event`` returns (bind it to a module-level name)."""

def create_sync(
    *,
    exec: Callable[[Nango], object],
    frequency: str,
    description: str = "",
    version: str = "",
    auto_start: bool = True,
    models: Mapping[str, Model | None] = ...,
    checkpoint: Model | None = None,
    metadata: Model | None = None,
    on_webhook: Callable[[Nango, Any], object] | None = None,
    webhook_subscriptions: Sequence[str] | None = None,
    scopes: Sequence[str] = (),
    track_deletes: bool = False,
    endpoints: Any = None,
    sync_type: Literal["", "full", "incremental"] = "",
) -> SyncDefinition:
    """Defines a sync (``track_deletes``, ``endpoints``, ``sync_type``: deprecated)."""

def create_action(
    *,
    exec: Callable[[Nango, Any], object],
    description: str = "",
    version: str = "",
    input: Model | None = None,
    output: Model | None = None,
    metadata: Model | None = None,
    scopes: Sequence[str] = (),
    endpoint: Any = None,
) -> ActionDefinition:
    """Defines an action; ``exec(nango, input)`` (``endpoint``: deprecated)."""

def create_on_event(
    *,
    exec: Callable[[Nango], object],
    event: Event,
    description: str = "",
    version: str = "",
    metadata: Model | None = None,
) -> OnEventDefinition:
    """Defines a function run on a connection event."""

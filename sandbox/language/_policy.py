"""The sandbox policy: what customer code may import, touch and define.

This is the one place the allow-lists live. Everything not listed here is denied.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, cast

from RestrictedPython.transformer import INSPECT_ATTRIBUTES


def _names(text: str) -> frozenset[str]:
    """Names written as one space-separated string: long allow-lists stay readable."""
    return frozenset(text.split())


_PYDANTIC_NAMES = (
    "AfterValidator AliasChoices AliasPath AnyHttpUrl AnyUrl BaseModel BeforeValidator ConfigDict "
    "Field HttpUrl Json NegativeInt NonNegativeFloat NonNegativeInt NonPositiveInt PositiveFloat "
    "PositiveInt SecretStr StrictBool StrictFloat StrictInt StrictStr UUID4 ValidationError "
    "ValidationInfo computed_field condecimal confloat conint conlist constr field_serializer "
    "field_validator model_serializer model_validator"
)
_TYPING_NAMES = (
    "Annotated Any Callable ClassVar Dict Final FrozenSet Generator Iterable Iterator List Literal "
    "Mapping MutableMapping NoReturn Optional Self Sequence Set TYPE_CHECKING Tuple Type Union cast"
)
_MATH_NAMES = (
    "acos acosh asin asinh atan atan2 atanh cbrt ceil comb copysign cos cosh degrees dist e erf "
    "erfc exp exp2 expm1 fabs factorial floor fmod frexp fsum gamma gcd hypot inf isclose isfinite "
    "isinf isnan isqrt lcm ldexp lgamma log log10 log1p log2 modf nan nextafter perm pi pow prod "
    "radians remainder sin sinh sqrt tan tanh tau trunc ulp"
)
_RE_NAMES = (
    "A ASCII DOTALL I IGNORECASE M MULTILINE Match NOFLAG Pattern RegexFlag S U UNICODE VERBOSE X "
    "compile error escape findall finditer fullmatch match search split sub subn"
)
_DECIMAL_NAMES = (
    "Clamped Context Decimal DecimalException DivisionByZero FloatOperation Inexact "
    "InvalidOperation Overflow ROUND_05UP ROUND_CEILING ROUND_DOWN ROUND_FLOOR ROUND_HALF_DOWN "
    "ROUND_HALF_EVEN ROUND_HALF_UP ROUND_UP Rounded Subnormal Underflow getcontext localcontext"
)
_HASHLIB_NAMES = (
    "algorithms_available algorithms_guaranteed blake2b blake2s md5 new pbkdf2_hmac scrypt sha1 "
    "sha224 sha256 sha384 sha3_224 sha3_256 sha3_384 sha3_512 sha512 shake_128 shake_256"
)
_BASE64_NAMES = (
    "a85decode a85encode b16decode b16encode b32decode b32encode b32hexdecode b32hexencode "
    "b64decode b64encode b85decode b85encode decodebytes encodebytes standard_b64decode "
    "standard_b64encode urlsafe_b64decode urlsafe_b64encode"
)
_URLLIB_PARSE_NAMES = (
    "DefragResult ParseResult SplitResult parse_qs parse_qsl quote quote_from_bytes quote_plus "
    "unquote unquote_plus unquote_to_bytes urldefrag urlencode urljoin urlparse urlsplit "
    "urlunparse urlunsplit"
)

DEFAULT_MODULES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "base64": _names(_BASE64_NAMES),
        "dataclasses": _names(
            "FrozenInstanceError KW_ONLY MISSING asdict astuple dataclass field fields "
            "is_dataclass replace"
        ),
        "datetime": _names("MAXYEAR MINYEAR UTC date datetime time timedelta timezone tzinfo"),
        "decimal": _names(_DECIMAL_NAMES),
        "enum": _names("Enum Flag IntEnum IntFlag StrEnum auto unique"),
        "hashlib": _names(_HASHLIB_NAMES),
        "hmac": _names("HMAC compare_digest digest new"),
        "json": _names("JSONDecodeError JSONEncoder dumps loads"),
        "math": _names(_MATH_NAMES),
        "pydantic": _names(_PYDANTIC_NAMES),
        "re": _names(_RE_NAMES),
        "secrets": _names(
            "SystemRandom choice compare_digest randbelow randbits token_bytes token_hex "
            "token_urlsafe"
        ),
        "typing": _names(_TYPING_NAMES),
        "urllib.parse": _names(_URLLIB_PARSE_NAMES),
        "uuid": _names(
            "NAMESPACE_DNS NAMESPACE_OID NAMESPACE_URL NAMESPACE_X500 UUID uuid3 uuid4 uuid5"
        ),
    }
)
"""The modules of DESIGN.md's "Allowed modules" and the names each one exposes."""

DEFAULT_BLOCKED_ATTRIBUTES: frozenset[str] = INSPECT_ATTRIBUTES | frozenset(
    {
        "mro",  # type.mro() hands out every base class, object included
        "with_traceback",  # only useful with a traceback object, which leads to frames
        "f_lasti",
        "f_lineno",
        "f_trace_lines",
        "f_trace_opcodes",
        "co_consts",
        "co_names",
        "co_filename",
        "func_globals",  # Python 2 spellings, still tried by exploit kits
        "func_code",
        "im_func",
        "im_self",
    }
)
"""Attribute names that lead to interpreter internals (frames, code, tracebacks)."""

DEFAULT_DUNDER_METHODS: frozenset[str] = _names(
    "__init__ __post_init__ __repr__ __str__ __hash__ __bool__ __len__ __contains__ __iter__ "
    "__next__ __getitem__"
)
"""Special methods a class body may define.

Left out on purpose, although RestrictedPython allows them: the rich comparisons (``__eq__``,
``__lt__``...). Library code compares the objects it is given with its own (``annotation in
PATH_TYPES`` in pydantic): a customer ``__eq__`` would receive those objects (``pathlib.Path``,
``os.PathLike``...) as its ``other`` argument. Use ``@dataclass(eq=True, order=True)``.
"""

DEFAULT_PYDANTIC_METHODS: frozenset[str] = frozenset(
    {
        "BaseModel.model_dump",
        "BaseModel.model_dump_json",
        "BaseModel.model_post_init",
        "BaseModel.model_validate_json",
        "BaseModel.model_validate_strings",
        "FieldInfo.is_required",
        "_SecretBase.get_secret_value",
        "AliasChoices.convert_to_aliases",
        "AliasPath.convert_to_aliases",
        "AliasPath.search_dict_for_path",
        "_BaseUrl.build",
        "_BaseUrl.encoded_string",
        "_BaseUrl.query_params",
        "_BaseUrl.unicode_host",
        "_BaseUrl.unicode_string",
    }
)
"""Qualified names of the pydantic methods customer code may call; every other one is denied.

``BaseModel.model_validate`` and ``BaseModel.model_copy`` are not listed: customer code gets the
sandbox's own versions (which refuse ``from_attributes``, and ``update`` keys that are not public
names); pydantic's, reachable through ``super(BaseModel, cls)``, are denied.

pydantic's public surface includes methods that read files (``parse_file``), unpickle
(``parse_raw``), evaluate strings as code (``model_rebuild``, ``FieldInfo.apply_typevars_map``)
or format templates (``model_json_schema``): deny by default.
"""

DEFAULT_PYDANTIC_CONFIG_KEYS: frozenset[str] = _names(
    "alias_generator allow_inf_nan arbitrary_types_allowed cache_strings coerce_numbers_to_str "
    "extra field_title_generator frozen hide_input_in_errors ignored_types json_schema_extra "
    "json_schema_mode_override json_schema_serialization_defaults_required loc_by_alias "
    "model_title_generator populate_by_name protected_namespaces regex_engine "
    "revalidate_instances ser_json_bytes ser_json_inf_nan ser_json_temporal ser_json_timedelta "
    "serialize_by_alias str_max_length str_min_length str_strip_whitespace str_to_lower "
    "str_to_upper strict title url_preserve_empty_path use_enum_values val_json_bytes "
    "val_temporal_unit validate_assignment validate_by_alias validate_by_name validate_default "
    "validate_return validation_error_cause"
)
"""``model_config`` keys customer models may set.

Left out on purpose: ``from_attributes`` (turns validation into a getattr of any name, dunders
included), ``defer_build`` and ``schema_generator`` (schema building outside the class statement),
``use_attribute_docstrings`` (reads source files), ``plugin_settings``, ``json_encoders``.
"""


def _frozen_modules(modules: Mapping[str, Iterable[str]]) -> Mapping[str, frozenset[str]]:
    return MappingProxyType({name: frozenset(modules[name]) for name in sorted(modules)})


@dataclass(frozen=True)
class Policy:
    """What customer code may do: deny by default, widened only through ``with_*`` builders.

    A policy is immutable and hashable; compiled code is cached per policy fingerprint.
    """

    modules: Mapping[str, frozenset[str]] = field(default_factory=lambda: DEFAULT_MODULES)
    """Importable modules and, for each, the only names customer code sees in it."""

    sdk_module: str = "nango"
    """Name of the virtual module whose content is the SDK mapping given to ``Program.load``."""

    blocked_attributes: frozenset[str] = DEFAULT_BLOCKED_ATTRIBUTES
    """Attribute names never readable on any object, at compile time and at run time."""

    dunder_methods: frozenset[str] = DEFAULT_DUNDER_METHODS
    """Special method names a class body may define (every other ``_`` name is refused)."""

    pydantic_methods: frozenset[str] = DEFAULT_PYDANTIC_METHODS
    """Qualified names of the pydantic-defined methods customer code may obtain."""

    pydantic_config_keys: frozenset[str] = DEFAULT_PYDANTIC_CONFIG_KEYS
    """Keys a model's ``model_config`` (or ``ConfigDict(...)``) may contain."""

    writable_types: frozenset[str] = frozenset({"decimal.Context"})
    """Qualified names of library types whose instances customer code may modify."""

    max_repeat_length: int = 10_000_000
    """Largest result of ``sequence * n`` (items or characters) before the run fails."""

    max_int_bits: int = 100_000
    """Largest integer, in bits, that ``**``, ``pow()`` or ``<<`` may produce."""

    max_source_chars: int = 1_000_000
    """Largest function file accepted by the compiler."""

    max_print_chars: int = 1_000_000
    """Characters of ``print`` output kept per load (beyond that, output is dropped)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "modules", _frozen_modules(self.modules))

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    @cached_property
    def fingerprint(self) -> str:
        """A sha256 of every field, stable across processes (the compile cache key)."""
        parts: list[str] = []
        for item in dataclasses.fields(self):
            parts.append(f"{item.name}={_canonical(getattr(self, item.name))}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    @property
    def module_names(self) -> tuple[str, ...]:
        """Every importable module name, the SDK module included, sorted."""
        return tuple(sorted({*self.modules, self.sdk_module}))

    @property
    def packages(self) -> frozenset[str]:
        """Parent packages of dotted allowed modules (``urllib`` for ``urllib.parse``)."""
        found: set[str] = set()
        for name in self.modules:
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts)))
        return frozenset(found - set(self.modules))

    def with_modules(self, modules: Mapping[str, Iterable[str]]) -> Policy:
        """A policy that also allows these modules (replacing the names of listed ones)."""
        merged = {**self.modules, **{name: frozenset(names) for name, names in modules.items()}}
        return dataclasses.replace(self, modules=merged)

    def without_modules(self, *names: str) -> Policy:
        """A policy that no longer allows these modules."""
        kept = {name: names_ for name, names_ in self.modules.items() if name not in names}
        return dataclasses.replace(self, modules=kept)

    def with_blocked_attributes(self, *names: str) -> Policy:
        """A policy that also blocks these attribute names."""
        return dataclasses.replace(self, blocked_attributes=self.blocked_attributes | set(names))

    def with_dunder_methods(self, *names: str) -> Policy:
        """A policy that lets class bodies define these special methods too."""
        return dataclasses.replace(self, dunder_methods=self.dunder_methods | set(names))

    def with_pydantic_config_keys(self, *keys: str) -> Policy:
        """A policy that also accepts these ``model_config`` keys."""
        merged = self.pydantic_config_keys | set(keys)
        return dataclasses.replace(self, pydantic_config_keys=merged)

    def with_sdk_module(self, name: str) -> Policy:
        """A policy whose virtual SDK module has another name."""
        return dataclasses.replace(self, sdk_module=name)

    def with_limits(self, **limits: int) -> Policy:
        """A policy with other ``max_*`` limits, e.g. ``with_limits(max_int_bits=4096)``."""
        unknown = [key for key in limits if not key.startswith("max_") or not hasattr(self, key)]
        if unknown:
            raise TypeError(f"unknown limits: {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **cast(dict[str, Any], limits))


def _canonical(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{_canonical(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, frozenset):
        return "[" + ",".join(sorted(value)) + "]"
    return repr(value)


DEFAULT_POLICY = Policy()
"""The policy of DESIGN.md: its allowed modules, the ``nango`` SDK and sibling files."""

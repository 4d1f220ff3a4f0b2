"""Real integration code compiles and runs; what is refused is reported with file and line."""

from __future__ import annotations

import decimal
import textwrap

import pytest

from corral.errors import CompileError, RunFailure
from sandbox import (
    DEFAULT_POLICY,
    Violation,
    check_sources,
    compile_program,
    locate_error,
    reset_run_state,
    violations,
)
from sandbox.language._compile import CACHE_SIZE, cache_info, compile_file
from tests.sandbox.test_escapes import FakeNango, fake_sdk, run_function


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.fixture(autouse=True)
def _clean_state() -> None:
    reset_run_state()


MAPPERS = src(
    '''
    """Mapping helpers shared by the GitHub functions."""
    from datetime import datetime, timezone
    from typing import Any, Optional

    from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


    class Issue(BaseModel):
        model_config = ConfigDict(extra="ignore", populate_by_name=True)

        id: str
        title: str = ""
        url: str = Field(alias="html_url")
        labels: list[str] = Field(default_factory=list)
        state: Optional[str] = None
        created_at: Optional[datetime] = None

        @field_validator("title")
        @classmethod
        def strip_title(cls, value: str) -> str:
            return value.strip()

        @model_validator(mode="after")
        def default_state(self):
            if self.state is None:
                self.state = "open"
            return self


    def to_issue(raw: dict[str, Any]) -> Issue:
        labels = [label["name"] for label in raw.get("labels", []) if "name" in label]
        return Issue(id=str(raw["id"]), title=raw["title"], html_url=raw["html_url"],
                     labels=labels, created_at=raw.get("created_at"))


    def stamp() -> str:
        return datetime(2024, 1, 2, tzinfo=timezone.utc).isoformat()
    '''
)

FETCH_ISSUES = src(
    """
    from nango import create_sync
    from .mappers import Issue, to_issue
    from . import mappers


    def pages(raw_pages):
        for page in raw_pages:
            yield [to_issue(item) for item in page]


    def fetch_issues(nango):
        saved = []
        for batch in pages(nango.raw_pages):
            saved.extend(issue.model_dump(by_alias=True) for issue in batch)
        totals = {}
        for issue in saved:
            for label in issue["labels"]:
                totals[label] = totals.get(label, 0) + 1
        summary = ", ".join(f"{name}={count:>3}" for name, count in sorted(totals.items()))
        return {"saved": saved, "summary": summary, "stamp": mappers.stamp()}


    sync = create_sync(description="GitHub issues", version="1.0.0", frequency="every hour",
                       auto_start=True, models={"Issue": Issue}, exec=fetch_issues)
    """
)

RAW_PAGES = [
    [
        {
            "id": 1,
            "title": "  Crash  ",
            "html_url": "https://x/1",
            "labels": [{"name": "bug"}],
            "created_at": "2024-01-01T00:00:00Z",
        },
        {"id": 2, "title": "Docs", "html_url": "https://x/2", "labels": [{"name": "docs"}]},
    ],
    [{"id": 3, "title": "More", "html_url": "https://x/3", "labels": [{"name": "bug"}, {}]}],
]


class SyncNango(FakeNango):
    """A fake SDK object that serves pages."""

    raw_pages = RAW_PAGES


def test_a_real_sync_with_sibling_models_runs() -> None:
    files = {"fetch_issues.py": FETCH_ISSUES, "mappers.py": MAPPERS}
    namespace = compile_program(files, "fetch_issues.py").load(fake_sdk())
    sync = namespace["sync"]
    assert sync["kind"] == "sync"
    result = sync["exec"](SyncNango())
    assert [issue["title"] for issue in result["saved"]] == ["Crash", "Docs", "More"]
    assert result["saved"][0]["html_url"] == "https://x/1"
    assert result["saved"][0]["state"] == "open"
    assert result["summary"] == "bug=  2, docs=  1"
    assert result["stamp"] == "2024-01-02T00:00:00+00:00"
    assert violations() == []


LANGUAGE_TOUR = src(
    """
    import base64
    import hashlib
    import hmac
    import json
    import math
    import re
    import secrets
    import uuid
    from dataclasses import dataclass, field, replace
    from datetime import date, timedelta
    from decimal import ROUND_HALF_UP, Decimal, localcontext
    from enum import Enum
    from typing import Annotated, Literal, Optional, Self, Type
    from urllib.parse import urlencode, urlparse

    from nango import ActionError, create_action
    from pydantic import AfterValidator, BaseModel, ValidationError, computed_field


    class Status(str, Enum):
        OPEN = "open"
        CLOSED = "closed"


    @dataclass(order=True)
    class Money:
        amount: Decimal
        currency: str = "EUR"
        tags: list = field(default_factory=list)

        def __post_init__(self):
            self.amount = Decimal(self.amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


    class Counter:
        total: int = 0

        def __init__(self, start=0):
            self.total = start
            self.seen = {}

        def add(self, key, amount=1):
            self.total += amount
            self.seen[key] = self.seen.get(key, 0)
            self.seen[key] += amount
            return self

        def __len__(self):
            return len(self.seen)

        def __repr__(self):
            return f"Counter(total={self.total!r})"


    class NotFound(Exception):
        def __init__(self, what):
            super().__init__(f"{what} not found")
            self.what = what


    class Order(BaseModel):
        id: Annotated[str, AfterValidator(str.upper)]
        status: Status = Status.OPEN
        kind: Literal["a", "b"] = "a"
        amount: Decimal = Decimal("0")
        parent: Optional[Self] = None
        model: Type[BaseModel] = BaseModel

        @computed_field
        @property
        def label(self) -> str:
            return f"{self.id}:{self.status.value}"


    def fib(limit):
        a, b = 0, 1
        while a < limit:
            yield a
            a, b = b, a + b


    def tour(nango, input):
        counter = Counter().add("x").add("y", 2).add("x")
        with localcontext(prec=5):
            third = Decimal(1) / Decimal(3)
        try:
            raise NotFound("widget")
        except NotFound as error:
            message = str(error)
        finally:
            cleaned = True
        try:
            Order(id=1, kind="zzz")
        except ValidationError as error:
            invalid = error.error_count()
        squares = {n: n * n for n in range(5) if n % 2 == 0}
        evens = sorted({n for n in fib(100) if not n % 2}, reverse=True)
        pairs = list(zip("abc", range(3)))
        first, *rest = [1, 2, 3]
        (left, (inner, _)), right = (1, (2, 3)), 4
        signature = hmac.new(b"k", b"msg", hashlib.sha256).hexdigest()
        order = Order(id="o-1", amount="12.5")
        doubled = list(map(lambda value: value * 2, [1, 2]))
        money = replace(Money("1.005"), currency="USD")
        return {
            "counter": (repr(counter), len(counter), counter.seen),
            "third": str(third),
            "message": message,
            "cleaned": cleaned,
            "invalid": invalid,
            "squares": squares,
            "evens": evens,
            "pairs": pairs,
            "unpacked": (first, rest, left, inner, right),
            "stats": (min(evens), max(evens), sum(evens), any(evens), all(evens)),
            "json": json.loads(json.dumps({"a": [1, 2]}, sort_keys=True)),
            "regex": re.findall(r"\\d+", "a1b22c333"),
            "b64": base64.b64encode(b"hi").decode(),
            "digest": signature[:8],
            "uuid": len(str(uuid.uuid4())),
            "token": len(secrets.token_hex(8)),
            "url": (urlparse("https://a.b/c?d=1").netloc, urlencode({"q": "x y"})),
            "math": (math.floor(2.5), math.isclose(0.1 + 0.2, 0.3)),
            "date": (date(2024, 1, 1) + timedelta(days=1)).isoformat(),
            "order": order.model_dump(mode="json", exclude={"model"}),
            "nested": Order(id="a", parent={"id": "b"}).parent.id,
            "money": (str(money.amount), money.currency, money < Money("2")),
            "format": "{} and {name:>4}".format(1, name="x") + str.format("{0}", 2),
            "isinstance": (isinstance(order, BaseModel), type(order) is Order, type(1) is int),
            "kwargs": dict(**{"a": 1}, b=2),
            "doubled": doubled,
            "status": Status("closed").name,
            "power": (2 ** 10, pow(3, 4), pow(3, 4, 5), 1 << 8),
            "action_error": issubclass(ActionError, Exception),
        }


    action = create_action(description="tour", version="1.0.0", exec=tour)
    """
)


def test_the_language_features_functions_need_work() -> None:
    result = run_function({"tour.py": LANGUAGE_TOUR}, "tour.py")
    assert isinstance(result, dict)
    assert result["counter"] == ("Counter(total=4)", 2, {"x": 2, "y": 2})
    assert result["third"] == "0.33333"
    assert result["message"] == "widget not found"
    assert result["cleaned"] is True
    assert result["invalid"] == 2
    assert result["squares"] == {0: 0, 2: 4, 4: 16}
    assert result["evens"] == [34, 8, 2, 0]
    assert result["pairs"] == [("a", 0), ("b", 1), ("c", 2)]
    assert result["unpacked"] == (1, [2, 3], 1, 2, 4)
    assert result["json"] == {"a": [1, 2]}
    assert result["regex"] == ["1", "22", "333"]
    assert result["b64"] == "aGk="
    assert result["uuid"] == 36
    assert result["token"] == 16
    assert result["url"] == ("a.b", "q=x+y")
    assert result["date"] == "2024-01-02"
    assert result["order"]["id"] == "O-1"
    assert result["order"]["label"] == "O-1:open"
    assert result["nested"] == "B"
    assert result["money"] == ("1.01", "USD", True)
    assert result["format"] == "1 and    x2"
    assert result["isinstance"] == (True, True, True)
    assert result["kwargs"] == {"a": 1, "b": 2}
    assert result["doubled"] == [2, 4]
    assert result["status"] == "CLOSED"
    assert result["power"] == (1024, 81, 1, 256)
    assert result["action_error"] is True
    assert violations() == []


def test_print_goes_to_the_sdk_hook() -> None:
    code = src(
        """
        print("loading", 1)

        def show(items):
            for item in items:
                print(item, end="")
            return printed
        """
    )
    lines: list[str] = []
    namespace = compile_program({"p.py": code}, "p.py").load({**fake_sdk(), "_print": lines.append})
    assert namespace["show"](["a", "b"]) == "ab"
    assert lines == ["loading 1\n", "a", "b"]


def test_print_without_a_hook_is_dropped() -> None:
    namespace = compile_program({"p.py": 'print("x")\nok = True\n'}, "p.py").load(fake_sdk())
    assert namespace["ok"] is True


def test_async_def_is_refused_with_its_line() -> None:
    code = "from nango import create_action\n\n\nasync def run(nango, input):\n    return 1\n"
    with pytest.raises(CompileError) as caught:
        compile_program({"a.py": code}, "a.py")
    [error] = caught.value.details["errors"]
    assert error["file"] == "a.py"
    assert error["line"] == 4
    assert error["rule"] == "unsupported_syntax"
    assert "async" in error["message"]
    assert "a.py:4" in caught.value.message


def test_a_compile_error_in_an_imported_sibling_names_the_sibling() -> None:
    files = {
        "entry.py": "from .helpers import clean\n\nvalue = clean(1)\n",
        "helpers.py": "def clean(value):\n    return value\n\n\ndef bad(x):\n"
        "    return x._secret\n",
        "unused.py": "async def nope():\n    pass\n",
    }
    with pytest.raises(CompileError) as caught:
        compile_program(files, "entry.py")
    errors = caught.value.details["errors"]
    assert [(e["file"], e["line"], e["rule"]) for e in errors] == [
        ("helpers.py", 6, "private_name")
    ]


def test_every_violation_of_a_file_is_listed() -> None:
    code = "x = a._b\ny = eval('1')\n\n\ndef f(_x):\n    pass\n"
    with pytest.raises(CompileError) as caught:
        compile_program({"m.py": code}, "m.py")
    lines = [(e["line"], e["rule"]) for e in caught.value.details["errors"]]
    assert lines == [(1, "private_name"), (2, "forbidden_call"), (5, "private_name")]
    assert "(and 2 more)" in caught.value.message


def test_check_sources_reports_every_file() -> None:
    files = {
        "a.py": "import os\nx = y.__class__\n",
        "b.py": "def f(:\n",
        "c.py": "ok = 1\n",
        "notes.md": "not python",
    }
    found = check_sources(files)
    assert all(isinstance(v, Violation) for v in found)
    assert [(v.file, v.line, v.rule) for v in found] == [
        ("a.py", 2, "private_name"),
        ("b.py", 1, "syntax"),
    ]
    assert found[0].to_dict() == {
        "file": "a.py",
        "line": 2,
        "column": 5,
        "rule": "private_name",
        "message": found[0].message,
    }


def test_compiler_flags_do_not_leak_into_customer_code() -> None:
    # This test module uses `from __future__ import annotations`; customer code must not.
    code = "class A:\n    x: int = 1\n\nkind = A.x\n"
    namespace = compile_program({"m.py": code}, "m.py").load(fake_sdk())
    assert namespace["kind"] == 1
    code = "from pydantic import BaseModel\n\nclass M(BaseModel):\n    n: int\n\nv = M(n='3').n\n"
    assert compile_program({"m.py": code}, "m.py").load(fake_sdk())["v"] == 3


def test_syntax_errors_outside_the_parser_are_reported() -> None:
    with pytest.raises(CompileError) as caught:
        compile_program({"m.py": "return 1\n"}, "m.py")
    assert caught.value.details["errors"][0]["rule"] == "syntax"


def test_an_unknown_entry_is_a_compile_error() -> None:
    with pytest.raises(CompileError):
        compile_program({"a.py": ""}, "b.py")


def test_module_state_is_fresh_for_every_load() -> None:
    code = "seen = []\n\ndef remember(x):\n    seen.append(x)\n    return len(seen)\n"
    program = compile_program({"m.py": code}, "m.py")
    first, second = program.load(fake_sdk()), program.load(fake_sdk())
    assert first["remember"](1) == 1
    assert second["remember"](1) == 1
    assert first["seen"] is not second["seen"]


def test_siblings_run_once_per_load() -> None:
    files = {
        "entry.py": "from .counter import hits\nfrom . import counter\n"
        "same = counter.hits is hits\n",
        "counter.py": "hits = []\nhits.append(1)\n",
    }
    namespace = compile_program(files, "entry.py").load(fake_sdk())
    assert namespace["same"] is True
    assert namespace["hits"] == [1]


def test_missing_name_in_a_sibling_is_an_import_error() -> None:
    files = {"entry.py": "from .helpers import nothing\n", "helpers.py": "x = 1\n"}
    with pytest.raises(ImportError):
        compile_program(files, "entry.py").load(fake_sdk())


def test_a_refused_import_names_the_module_and_the_allowed_ones() -> None:
    code = "x = 1\nimport requests\n"
    with pytest.raises(RunFailure) as caught:
        compile_program({"m.py": code}, "m.py").load(fake_sdk())
    failure = caught.value
    assert failure.code == "sandbox_violation"
    assert (failure.file, failure.line) == ("m.py", 2)
    assert "'requests'" in failure.message
    for allowed in ("pydantic", "hashlib", "urllib.parse", "nango", "sibling files"):
        assert allowed in failure.message
    assert violations()[0]["rule"] == "import"


def test_locate_error_finds_the_innermost_customer_frame() -> None:
    files = {
        "entry.py": "from .helpers import explode\n\ndef run():\n    return explode()\n",
        "helpers.py": "def explode():\n    return {}['missing']\n",
    }
    program = compile_program(files, "entry.py")
    namespace = program.load(fake_sdk())
    with pytest.raises(KeyError) as caught:
        namespace["run"]()
    assert locate_error(caught.value, program) == ("helpers.py", 2)
    assert locate_error(ValueError("elsewhere"), program) == ("", 0)


def test_violations_are_recorded_even_when_caught() -> None:
    code = src(
        """
        def sneaky():
            try:
                getattr(1, '__class__')
            except Exception:
                return 'fine'
        """
    )
    namespace = compile_program({"m.py": code}, "m.py").load(fake_sdk())
    assert namespace["sneaky"]() == "fine"
    [record] = violations()
    assert record["rule"] == "private_attribute"
    assert (record["file"], record["line"]) == ("m.py", 3)
    assert "'__class__'" in record["message"]
    reset_run_state()
    assert violations() == []


def test_compiled_code_is_cached_by_content() -> None:
    source = "value = 41 + 1\n"
    first = compile_file("cached.py", source)
    assert compile_file("cached.py", source) is first
    assert compile_file("cached.py", source + "\n") is not first
    other_policy = DEFAULT_POLICY.with_limits(max_int_bits=1024)
    assert compile_file("cached.py", source, other_policy) is not first
    assert cache_info() <= CACHE_SIZE


def test_the_cache_is_bounded() -> None:
    for index in range(CACHE_SIZE + 10):
        compile_file("bulk.py", f"value = {index}\n")
    assert cache_info() == CACHE_SIZE


def test_policy_extends_the_allowed_modules() -> None:
    code = "from statistics import mean\nvalue = mean([1, 2, 3])\n"
    with pytest.raises(RunFailure):
        compile_program({"m.py": code}, "m.py").load(fake_sdk())
    policy = DEFAULT_POLICY.with_modules({"statistics": ["mean"]})
    assert compile_program({"m.py": code}, "m.py", policy).load(fake_sdk())["value"] == 2


def test_datetime_strptime_imports_inside_the_library() -> None:
    code = "from datetime import datetime\nyear = datetime.strptime('2021-3-4', '%Y-%m-%d').year\n"
    assert compile_program({"m.py": code}, "m.py").load(fake_sdk())["year"] == 2021
    assert violations() == []


def test_type_of_library_objects_is_a_token() -> None:
    code = src(
        """
        from pydantic import Field
        token = type(Field())
        same = token == type(Field())
        check = isinstance(Field(), token)
        builtin = type([]) is list
        meta = type(int) is type
        """
    )
    namespace = compile_program({"m.py": code}, "m.py").load(fake_sdk())
    assert "FieldInfo" in repr(namespace["token"])
    assert namespace["same"] is True
    assert namespace["check"] is True
    assert namespace["builtin"] is True
    assert namespace["meta"] is True


def test_decimal_context_may_be_changed_and_is_reset() -> None:
    code = "import decimal\ndecimal.getcontext().prec = 3\nthird = str(decimal.Decimal(1) / 3)\n"
    assert compile_program({"m.py": code}, "m.py").load(fake_sdk())["third"] == "0.333"
    reset_run_state()
    assert decimal.getcontext().prec == 28


def test_more_everyday_python() -> None:
    code = src(
        """
        from pydantic import BaseModel

        counter = 0


        class Event(BaseModel):
            kind: str
            payload: dict = {}

            def __init__(self, **data):
                data.setdefault("kind", "generic")
                super().__init__(**data)


        def bump():
            global counter
            counter += 1
            return counter


        def collect(*args, **kwargs):
            total: int = 0
            for index, value in enumerate(args, start=1):
                total += index * value
            names = {key.upper() for key in kwargs}
            return total, sorted(names)


        result = {
            "collect": collect(1, 2, 3, a=1, b=2),
            "event": Event(payload={"a": 1}).kind,
            "bumps": (bump(), bump()),
            "walrus": [y for x in range(5) if (y := x * x) > 4],
            "ternary": "yes" if counter else "no",
            "chained": 1 < 2 < 3,
            "slices": "abcdef"[1:5:2],
            "bytes": bytes([104, 105]).decode(),
            "sets": {1, 2} | {3},
            "dict_methods": sorted({"b": 2, "a": 1}.items()),
        }
        """
    )
    result = compile_program({"m.py": code}, "m.py").load(fake_sdk())["result"]
    assert result == {
        "collect": (14, ["A", "B"]),
        "event": "generic",
        "bumps": (1, 2),
        "walrus": [9, 16],
        "ternary": "yes",
        "chained": True,
        "slices": "bd",
        "bytes": "hi",
        "sets": {1, 2, 3},
        "dict_methods": [("a", 1), ("b", 2)],
    }


@pytest.mark.parametrize(
    ("code", "line", "words"),
    [
        ("x = 1\nmatch x:\n    case 1:\n        pass\n", 2, "match"),
        ("def f():\n    x = 1\n    def g():\n        nonlocal x\n", 4, "nonlocal"),
        ("x = 1\ntry:\n    pass\nexcept* ValueError:\n    pass\n", 2, "except*"),
        ("async def f():\n    await g()\n", 1, "async"),
        ("class A(metaclass=type):\n    pass\n", 1, "metaclass"),
    ],
)
def test_refused_syntax_says_what_and_where(code: str, line: int, words: str) -> None:
    with pytest.raises(CompileError) as caught:
        compile_program({"m.py": code}, "m.py")
    first = caught.value.details["errors"][0]
    assert first["line"] == line
    assert words in first["message"]


def test_sibling_modules_are_read_only_facades() -> None:
    files = {
        "entry.py": "from . import helpers\nhelpers.value = 2\n",
        "helpers.py": "value = 1\n",
    }
    with pytest.raises(RunFailure) as caught:
        compile_program(files, "entry.py").load(fake_sdk())
    assert caught.value.code == "sandbox_violation"
    assert [v["rule"] for v in violations()] == ["write"]

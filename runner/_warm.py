"""What the warm parent does once, so that no worker pays for it: import and exercise."""

from __future__ import annotations


def warm() -> None:
    """Imports everything a worker needs and runs pydantic's lazy paths once."""
    import pydantic  # noqa: PLC0415

    import sandbox  # noqa: PLC0415
    from runner import _worker  # noqa: PLC0415

    source = (
        "from nango import create_action\n"
        "from pydantic import BaseModel, Field\n"
        "class In(BaseModel):\n"
        "    name: str = Field(default='x', min_length=1)\n"
        "    tags: list[str] = []\n"
        "def run(nango, input):\n"
        "    return {'n': input.name, 'gen': [t for t in input.tags]}\n"
        "action = create_action(description='warm', input=In, exec=run)\n"
    )
    program = sandbox.compile_program({"warm.py": source}, "warm.py")
    definition = _worker.find_definition(program.load(_worker.SDK_MODULE))
    model = definition.input if hasattr(definition, "input") else None
    if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
        instance = model.model_validate({"name": "a", "tags": ["b"]})
        instance.model_dump(mode="json", by_alias=True, exclude_unset=True)
        model.model_json_schema()
    sandbox.reset_run_state()

# expect: sandbox_violation
# rule: pydantic_method
# attack: pydantic model_json_schema formats a template
from nango import create_action


def run(nango, input):
    from pydantic import BaseModel


    class Issue(BaseModel):
        id: str


    return Issue.model_json_schema(ref_template="{model.__class__}")


action = create_action(description="escape attempt", version="1.0.0", exec=run)

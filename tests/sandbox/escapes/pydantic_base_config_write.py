# expect: sandbox_violation
# rule: write
# attack: changing the shared BaseModel configuration
from nango import create_action

from pydantic import BaseModel


BaseModel.model_config["extra"] = "allow"


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)

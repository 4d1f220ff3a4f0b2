# expect: runtime_error
# attack: NaN in the output: not JSON, the worker's result frame could not be written (runner_error)
from nango import create_action, HttpError, ActionError


def run(nango, input):
    return {"total": float("nan")}


action = create_action(description="escape attempt", exec=run)

# expect: sandbox_violation
# rule: forbidden_builtin
# attack: exec through an alias
from nango import create_action


def run(nango, input):
    run_code = exec
    run_code("x = 1")


action = create_action(description="escape attempt", version="1.0.0", exec=run)

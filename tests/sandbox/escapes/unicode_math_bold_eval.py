# expect: compile_error
# rule: forbidden_call
# attack: mathematical bold letters normalise to eval
from nango import create_action


def run(nango, input):
    return 𝐞𝐯𝐚𝐥("1")


action = create_action(description="escape attempt", version="1.0.0", exec=run)

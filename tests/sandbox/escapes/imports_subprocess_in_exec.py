# expect: sandbox_violation
# rule: import
# attack: import subprocess inside the function
from nango import create_action


def run(nango, input):
    import subprocess
    return subprocess.run(["id"])


action = create_action(description="escape attempt", version="1.0.0", exec=run)

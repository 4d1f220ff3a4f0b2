# expect: sandbox_violation
# attack: (fourth red team) a slice of a library container holding a class function code may not
# hold, star-unpacked as the bases of a class statement, which took them unchecked
from pydantic import Field
from nango import create_action


def run(nango, input):
    bases = list(Field().metadata_lookup.values())[1:2]
    class Sub(*bases):
        pass
    return [repr(Sub), repr(Sub(3))]


action = create_action(description="probe", version="1.0.0", exec=run)

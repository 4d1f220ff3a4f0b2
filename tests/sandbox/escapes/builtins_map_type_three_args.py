# expect: sandbox_violation
# rule: type_call
# attack: type(name, bases, namespace) applied by map()
from nango import create_action


def run(nango, input):
    return list(map(type, ["Evil"], [()], [{"__eq__": print}]))


action = create_action(description="escape attempt", version="1.0.0", exec=run)

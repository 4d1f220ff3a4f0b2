# expect: compile_error
# rule: private_name
# attack: if __name__ == '__main__'
from nango import create_action

if __name__ == "__main__":
    pass


def run(nango, input):
    return None


action = create_action(description="escape attempt", version="1.0.0", exec=run)

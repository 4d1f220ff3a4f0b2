# expect: compile_error
# rule: private_name
# attack: exception __traceback__.tb_frame
from nango import create_action


def run(nango, input):
    try:
        1 / 0
    except ZeroDivisionError as error:
        return error.__traceback__.tb_frame.f_globals


action = create_action(description="escape attempt", version="1.0.0", exec=run)

# expect: sandbox_violation
# attack: reach the worker's generated protobuf messages (the SDK wire) to forge calls
from corral.v1 import callbacks_pb2
from nango import create_action


def run(nango, input):
    return callbacks_pb2.DESCRIPTOR.name


action = create_action(description="escape attempt", exec=run)

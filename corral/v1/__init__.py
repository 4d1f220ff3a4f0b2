"""Generated protobuf and gRPC modules of the corral.v1 API (see proto/)."""

"""RunnerCallbacks: the SDK operations of a running function, scoped by its run token."""

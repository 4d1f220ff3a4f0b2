"""The worker: one process per run, running function code, and the values it sends back."""

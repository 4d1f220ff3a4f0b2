"""The public Orchestrator API: its service, authentication by secret key, views and pages."""

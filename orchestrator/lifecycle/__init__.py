"""What happens without a client asking: deploys, schedules, connection events."""

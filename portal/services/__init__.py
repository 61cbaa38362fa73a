"""Municipal services: the catalogue residents browse and the usage data behind it."""

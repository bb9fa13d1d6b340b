"""The dialogue policy (config.yml)."""

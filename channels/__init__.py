"""Custom Rasa channels (referenced from credentials.yml)."""

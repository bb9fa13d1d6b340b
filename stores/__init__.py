"""Custom Rasa stores (referenced from endpoints files)."""

"""The Rasa server's own settings and its admission gate, used by the channels."""

"""What the Rasa server and the action server both import: clinic profiles and their wording."""

"""Custom actions of the dry-needling assistant (run with `python -m actions`)."""

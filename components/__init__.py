"""Custom NLU components for the dry-needling assistant (see config.yml)."""

"""The front desk's side of callback requests: storage, notification, CLI and JSON endpoint."""

"""Who may see a patient's data: the care-team access decision (pure; docs/access.md)."""

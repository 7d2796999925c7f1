"""tasks feature package."""

"""tickets feature package."""

"""timers feature package."""

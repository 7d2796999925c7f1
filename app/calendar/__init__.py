"""Business calendars: working hours with breaks, holidays and make-up working days; working-time arithmetic."""

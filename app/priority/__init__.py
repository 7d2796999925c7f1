"""A supervisor changes a ticket's priority with a reason; its open deadlines follow (message `reprioritize`)."""

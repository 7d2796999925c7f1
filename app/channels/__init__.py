"""Where tickets come from besides the front desk (R1-1, R3-1, R3-2): the public intake page (channel "online")
and partners' API keys (channel "partner"). Both open tickets through app.tickets.service.create_ticket."""

"""The progress table of a request (R3-5, 服务处理进度跟踪表): stage, owner, planned and actual date, progress note,
remarks. The handler keeps it; everyone who sees the ticket (the customer-facing staff) reads it."""

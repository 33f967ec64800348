"""Slack: ticket messages (blocks), delivery of the outbox (tickets.outbox), signed endpoints."""

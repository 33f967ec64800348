"""Slack: ticket messages (blocks), the outbox and its delivery, signed endpoints, the local stand-in."""

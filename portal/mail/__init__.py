"""E-mail through the outbox."""

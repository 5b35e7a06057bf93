"""Outgoing e-mail: a durable outbox, the background sender, SMTP and .eml transports, templates."""

"""The audit trail: security events, stored with the change they record."""

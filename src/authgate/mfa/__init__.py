"""Second factors: TOTP with recovery codes, and the log-in challenge that asks for them."""

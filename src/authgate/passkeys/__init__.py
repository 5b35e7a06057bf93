"""Passkeys (WebAuthn): register authenticators on an account, log in with them."""

"""One-time e-mailed tokens: password reset and e-mail address verification."""

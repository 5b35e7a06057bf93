"""What passkey tests share: the relying party they run as, and registering and logging in
with a software authenticator over HTTP."""

ORIGIN = "https://app.example.com"
RP_ID = "example.com"


def passkey_settings(make_settings, **extra):  # type: ignore[no-untyped-def]
    """Settings for passkeys at ORIGIN, no rate limits, access tokens that outlive a test."""
    return make_settings(
        rate_limit_enabled=False, webauthn_rp_id=RP_ID, webauthn_origins=ORIGIN,
        access_token_lifetime=3600, **extra,
    )  # fmt: skip


async def register(client, headers, authenticator, name="Laptop"):  # type: ignore[no-untyped-def]
    options = (await client.post("/account/passkeys/register/options", headers=headers)).json()
    credential = authenticator.create(options)
    return await client.post(
        "/account/passkeys/register", json={"credential": credential, "name": name},
        headers=headers,
    )  # fmt: skip


async def passkey_login(client, authenticator, **extra):  # type: ignore[no-untyped-def]
    options = (await client.post("/account/passkeys/login/options")).json()
    credential = authenticator.get(options, RP_ID)
    return await client.post("/account/passkeys/login", json={"credential": credential, **extra})

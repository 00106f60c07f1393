-- 0006 passkeys: WebAuthn credentials (WebAuthn Level 3 §4 "credential
-- record") and the per-user WebAuthn user handle.

-- The user handle (WebAuthn §5.4.3 user.id) a user's passkeys carry: 32
-- random bytes, never the user's ID or email (§14.6.1: no personally
-- identifying information), so a discoverable credential names nobody.
CREATE TABLE webauthn_users (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle     bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL                 -- also the row lock that serialises a user's registrations
);
CREATE UNIQUE INDEX webauthn_users_handle_key ON webauthn_users (handle);

CREATE TABLE passkeys (
    id                 uuid        PRIMARY KEY,    -- our own id, named in forms
    user_id            uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      bytea       NOT NULL,       -- the authenticator's credential ID (≤ 1023 bytes)
    public_key         bytea       NOT NULL,       -- COSE_Key
    attestation_type   text        NOT NULL DEFAULT '',
    attestation_format text        NOT NULL DEFAULT '',
    attestation        jsonb       NOT NULL DEFAULT '{}', -- the raw attestation (client data, authenticator data, object)
    aaguid             bytea       NOT NULL,
    sign_count         bigint      NOT NULL DEFAULT 0,
    transports         jsonb       NOT NULL DEFAULT '[]',
    attachment         text        NOT NULL DEFAULT '',
    user_present       boolean     NOT NULL DEFAULT false, -- UP
    user_verified      boolean     NOT NULL DEFAULT false, -- UV at registration (uvInitialized)
    backup_eligible    boolean     NOT NULL DEFAULT false, -- BE: a synced passkey; never changes
    backup_state       boolean     NOT NULL DEFAULT false, -- BS: backed up now; updated after each use
    name               text        NOT NULL,
    created_at         timestamptz NOT NULL,
    last_used_at       timestamptz NULL
);
CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

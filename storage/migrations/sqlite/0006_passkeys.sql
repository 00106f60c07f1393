-- 0006 passkeys: WebAuthn credentials (WebAuthn Level 3 §4 "credential
-- record") and the per-user WebAuthn user handle.

-- The user handle (WebAuthn §5.4.3 user.id) a user's passkeys carry: 32
-- random bytes, never the user's ID or email (§14.6.1: no personally
-- identifying information), so a discoverable credential names nobody.
CREATE TABLE webauthn_users (
    user_id    text        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle     blob        NOT NULL,
    created_at datetime    NOT NULL,
    updated_at datetime    NOT NULL                -- also the row lock that serialises a user's registrations
);
CREATE UNIQUE INDEX webauthn_users_handle_key ON webauthn_users (handle);

CREATE TABLE passkeys (
    id                 text        PRIMARY KEY,    -- our own id (a UUID), named in forms
    user_id            text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      blob        NOT NULL,       -- the authenticator's credential ID (≤ 1023 bytes)
    public_key         blob        NOT NULL,       -- COSE_Key
    attestation_type   text        NOT NULL DEFAULT '',
    attestation_format text        NOT NULL DEFAULT '',
    attestation        text        NOT NULL DEFAULT '{}', -- the raw attestation (client data, authenticator data, object)
    aaguid             blob        NOT NULL,
    sign_count         bigint      NOT NULL DEFAULT 0,
    transports         text        NOT NULL DEFAULT '[]',
    attachment         text        NOT NULL DEFAULT '',
    user_present       boolean     NOT NULL DEFAULT 0, -- UP
    user_verified      boolean     NOT NULL DEFAULT 0, -- UV at registration (uvInitialized)
    backup_eligible    boolean     NOT NULL DEFAULT 0, -- BE: a synced passkey; never changes
    backup_state       boolean     NOT NULL DEFAULT 0, -- BS: backed up now; updated after each use
    name               text        NOT NULL,
    created_at         datetime    NOT NULL,
    last_used_at       datetime    NULL
);
CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

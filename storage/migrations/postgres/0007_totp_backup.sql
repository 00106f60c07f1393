-- 0007 TOTP and backup codes: a user's authenticator app (RFC 6238) and
-- their single-use backup codes, both second factors of login.

-- One authenticator per user: pending (confirmed_at NULL) from enrolment
-- until a first code confirms it. id changes with every new secret, so a
-- confirmation names the secret it proved.
CREATE TABLE totp_authenticators (
    id             text        PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret         bytea       NOT NULL,            -- sealed with AES-256-GCM, bound to id (see seal.go)
    created_at     timestamptz NOT NULL,
    confirmed_at   timestamptz NULL,
    last_used_step bigint      NOT NULL DEFAULT 0,  -- the newest time step accepted: a code is used once
    last_used_at   timestamptz NULL
);
CREATE UNIQUE INDEX totp_authenticators_user_id_key ON totp_authenticators (user_id);

-- Backup codes: HMAC-SHA256 of the code under a key derived from the
-- key-encryption secret, never the code; used_at set once.
CREATE TABLE backup_codes (
    id         text        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz NULL
);
CREATE INDEX backup_codes_user_id_idx ON backup_codes (user_id);

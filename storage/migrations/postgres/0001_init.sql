-- 0001 init: the foundation's tables. Forward-only and additive: a later
-- migration may add tables, nullable columns and indexes (expand); a column is
-- only dropped in a release after the code stopped reading it (contract).

CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    email          text        NOT NULL,
    email_key      text        NOT NULL,            -- lower-cased email, the lookup key
    email_verified boolean     NOT NULL DEFAULT false,
    claims         jsonb       NOT NULL DEFAULT '{}', -- standard OIDC claims (OIDC Core §5.1)
    disabled_at    timestamptz NULL,
    revision       bigint      NOT NULL DEFAULT 1,  -- optimistic concurrency
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_key_key ON users (email_key);

CREATE TABLE password_credentials (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       text        NOT NULL,                -- PHC string ($argon2id$…)
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE clients (
    id                         text        PRIMARY KEY,
    secret_hash                bytea       NULL,    -- SHA-256 of the secret; NULL for public clients
    secret_expires_at          timestamptz NULL,
    name                       text        NOT NULL,
    public                     boolean     NOT NULL DEFAULT false,
    first_party                boolean     NOT NULL DEFAULT false,
    token_endpoint_auth_method text        NOT NULL,
    redirect_uris              jsonb       NOT NULL DEFAULT '[]',
    post_logout_redirect_uris  jsonb       NOT NULL DEFAULT '[]',
    grant_types                jsonb       NOT NULL DEFAULT '[]',
    response_types             jsonb       NOT NULL DEFAULT '[]',
    scopes                     jsonb       NOT NULL DEFAULT '[]',
    metadata                   jsonb       NOT NULL DEFAULT '{}', -- further registration metadata (RFC 7591 §2)
    revision                   bigint      NOT NULL DEFAULT 1,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL
);

CREATE TABLE signing_keys (
    id          text        PRIMARY KEY,            -- the JWK kid
    algorithm   text        NOT NULL,               -- RS256, ES256, EdDSA, ...
    use         text        NOT NULL DEFAULT 'sig',
    public_jwk  jsonb       NOT NULL,
    private_key bytea       NOT NULL,               -- sealed with AES-256-GCM (see seal.go)
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz NULL,                   -- stopped signing; still published
    expires_at  timestamptz NULL                    -- leaves the JWKS; then deleted
);
CREATE INDEX signing_keys_expires_at_idx ON signing_keys (expires_at);

CREATE TABLE browser_sessions (
    id              text        PRIMARY KEY,        -- hex SHA-256 of the cookie token
    sid             text        NOT NULL,           -- public session id (OIDC "sid")
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time       timestamptz NOT NULL,
    amr             jsonb       NOT NULL DEFAULT '[]',
    acr             text        NOT NULL DEFAULT '',
    remember        boolean     NOT NULL DEFAULT false,
    ip              text        NOT NULL DEFAULT '',
    user_agent      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz NULL
);
CREATE UNIQUE INDEX browser_sessions_sid_key ON browser_sessions (sid);
CREATE INDEX browser_sessions_user_id_idx ON browser_sessions (user_id);
CREATE INDEX browser_sessions_expires_at_idx ON browser_sessions (expires_at);
CREATE INDEX browser_sessions_idle_expires_at_idx ON browser_sessions (idle_expires_at);
CREATE INDEX browser_sessions_revoked_at_idx ON browser_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE audit_events (
    id          bigserial   PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    type        text        NOT NULL,               -- e.g. user.created, client.deleted
    outcome     text        NOT NULL,               -- success | failure
    actor       text        NOT NULL DEFAULT '',    -- who acted: user id, "cli", "system"
    subject     text        NOT NULL DEFAULT '',    -- whom or what it was about
    client_id   text        NOT NULL DEFAULT '',
    ip          text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    request_id  text        NOT NULL DEFAULT '',
    details     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_subject_id_idx ON audit_events (subject, id);
CREATE INDEX audit_events_type_id_idx ON audit_events (type, id);

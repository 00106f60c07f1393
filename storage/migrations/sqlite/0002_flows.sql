-- 0002 flows: the pending authorization request (the flow record) that the
-- oidc, login and consent packages hand to one another, and the consent a
-- user remembers per client.

CREATE TABLE flows (
    id              text        PRIMARY KEY,        -- hex SHA-256 of the challenge carried in URLs
    state           text        NOT NULL,           -- created | authenticated | consented | completed | rejected
    client_id       text        NOT NULL,
    browser         text        NOT NULL DEFAULT '', -- hex SHA-256 of the browser cookie that started it
    request         text        NOT NULL,           -- the authorization request parameters
    subject         text        NOT NULL DEFAULT '', -- user id once authenticated
    session_id      text        NOT NULL DEFAULT '', -- browser session (its id) that authenticated
    auth_time       datetime    NULL,
    amr             text        NOT NULL DEFAULT '[]',
    acr             text        NOT NULL DEFAULT '',
    granted_scopes  text        NOT NULL DEFAULT '[]',
    error           text        NOT NULL DEFAULT '',
    error_description text      NOT NULL DEFAULT '',
    revision        bigint      NOT NULL DEFAULT 1,
    created_at      datetime    NOT NULL,
    updated_at      datetime    NOT NULL,
    expires_at      datetime    NOT NULL
);
CREATE INDEX flows_expires_at_idx ON flows (expires_at);

CREATE TABLE consent_grants (
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes     text        NOT NULL DEFAULT '[]',
    created_at datetime    NOT NULL,
    updated_at datetime    NOT NULL,
    expires_at datetime    NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consent_grants_client_id_idx ON consent_grants (client_id);
CREATE INDEX consent_grants_expires_at_idx ON consent_grants (expires_at) WHERE expires_at IS NOT NULL;

-- 0003 oauth2: fosite's request storage. Version 0002 belongs to the flows
-- table of another change; versions are applied by number, whatever order
-- they arrive in.
--
-- One row per stored fosite request, keyed by (kind, signature):
--   code     authorization code (RFC 6749 §4.1.2), deactivated on first use
--   access   access token, deleted on rotation and revocation
--   refresh  refresh token, deactivated on rotation (RFC 9700 §4.14) and
--            revocation (RFC 7009), kept inactive for reuse detection
--   oidc     OpenID Connect request bound to a code (OIDC Core §3.1.3.3)
--   pkce     PKCE challenge bound to a code (RFC 7636 §4.4)
-- No token, code or credential is stored: signature (and access_signature)
-- is the hex SHA-256 of the key fosite passes (a token's signature; for oidc
-- rows the whole code), and the form is stripped of credentials (see
-- storage/oauth2_session.go). Deleting a client deletes its rows.

CREATE TABLE oauth2_sessions (
    kind               text        NOT NULL,
    signature          text        NOT NULL,           -- hex SHA-256 of fosite's key
    request_id         text        NOT NULL,           -- fosite request ID: the grant "family"
    client_id          text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    subject            text        NOT NULL DEFAULT '',
    requested_at       datetime    NOT NULL,
    expires_at         datetime    NOT NULL,           -- garbage-collection horizon (see storage/oauth2_session.go)
    active             boolean     NOT NULL DEFAULT 1,
    scopes             text        NOT NULL DEFAULT '[]',
    granted_scopes     text        NOT NULL DEFAULT '[]',
    requested_audience text        NOT NULL DEFAULT '[]',
    granted_audience   text        NOT NULL DEFAULT '[]',
    form               text        NOT NULL DEFAULT '{}', -- JSON of the sanitised url.Values, byte-exact
    session            text        NOT NULL DEFAULT '{}', -- JSON of the fosite.Session, byte-exact
    access_signature   text        NOT NULL DEFAULT '',   -- refresh rows: key of the access token issued with it
    rotated_at         datetime    NULL,                  -- refresh rows: when a refresh used it up
    PRIMARY KEY (kind, signature),
    CONSTRAINT oauth2_sessions_kind_check CHECK (kind IN ('code', 'access', 'refresh', 'oidc', 'pkce'))
);
CREATE INDEX oauth2_sessions_request_id_idx ON oauth2_sessions (request_id, kind);
CREATE INDEX oauth2_sessions_expires_at_idx ON oauth2_sessions (expires_at);
CREATE INDEX oauth2_sessions_subject_idx ON oauth2_sessions (subject);
CREATE INDEX oauth2_sessions_client_id_idx ON oauth2_sessions (client_id);

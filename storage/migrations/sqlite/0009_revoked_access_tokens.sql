-- 0009 revoked access tokens: the JWT access tokens Janua issues without a
-- row (client_credentials, oidc/statelessjwt.go) that were revoked (RFC
-- 7009), by their "jti", kept until the token would have expired, so that a
-- revocation outlives a restart and is seen by every instance.

CREATE TABLE revoked_access_tokens (
    jti        text        PRIMARY KEY,
    client_id  text        NOT NULL,               -- the token's client, which revoked it
    expires_at datetime    NOT NULL,               -- the token's own expiry: garbage after it
    revoked_at datetime    NOT NULL
);
CREATE INDEX revoked_access_tokens_expires_at_idx ON revoked_access_tokens (expires_at);

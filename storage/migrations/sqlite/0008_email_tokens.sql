-- 0008 email tokens: the one-time secrets Janua mails (magic link and email
-- code, email verification, password reset), and the browsers each user has
-- signed in from (for the new sign-in alert).

CREATE TABLE email_tokens (
    id          text        PRIMARY KEY,            -- random public handle (the code form names it)
    purpose     text        NOT NULL,               -- magic_link | email_code | verify_email | password_reset
    token_hash  text        NULL,                   -- hex SHA-256 of the link's 256-bit token; NULL without a link
    code_hash   text        NULL,                   -- hex HMAC-SHA256 of the short code (key derived from the secret); NULL without a code
    user_id     text        NULL REFERENCES users (id) ON DELETE CASCADE, -- NULL: the address has no account (nothing is mailed)
    email       text        NOT NULL DEFAULT '',    -- the address the message went to
    flow_id     text        NOT NULL DEFAULT '',    -- the flow it signs in to (hex SHA-256 of its challenge), '' for none
    browser     text        NOT NULL DEFAULT '',    -- hex SHA-256 of the identity cookie of the browser that asked
    attempts    integer     NOT NULL DEFAULT 0,     -- wrong codes so far
    created_at  datetime    NOT NULL,
    expires_at  datetime    NOT NULL,
    used_at     datetime    NULL,
    CONSTRAINT email_tokens_purpose_check CHECK (purpose IN ('magic_link', 'email_code', 'verify_email', 'password_reset'))
);
CREATE UNIQUE INDEX email_tokens_token_hash_key ON email_tokens (token_hash);
CREATE INDEX email_tokens_user_id_idx ON email_tokens (user_id);
CREATE INDEX email_tokens_expires_at_idx ON email_tokens (expires_at);

CREATE TABLE known_browsers (
    user_id       text      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    browser       text      NOT NULL,               -- hex SHA-256 of the browser's identity cookie
    first_seen_at datetime  NOT NULL,
    last_seen_at  datetime  NOT NULL,
    PRIMARY KEY (user_id, browser)
);
CREATE INDEX known_browsers_last_seen_at_idx ON known_browsers (last_seen_at);

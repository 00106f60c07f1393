-- 0005 mail outbox: the messages Janua owes its users (mail package), written
-- in the transaction of whatever they are about and delivered by a worker
-- with retries. A worker claims due rows with a lease (claimed_until, claim),
-- so several instances never send one message twice.

CREATE TABLE mail_outbox (
    id              text        PRIMARY KEY,          -- UUID
    recipient       text        NOT NULL,
    lang            text        NOT NULL DEFAULT '',
    kind            text        NOT NULL,             -- mail.Kind*
    data            blob        NOT NULL,             -- the message's data as JSON, sealed (see seal.go); emptied once sent or dead
    status          text        NOT NULL DEFAULT 'pending', -- pending | sent | dead
    attempts        integer     NOT NULL DEFAULT 0,   -- delivery attempts begun
    next_attempt_at datetime    NOT NULL,
    claimed_until   datetime    NULL,                 -- the lease of the worker delivering it
    claim           text        NOT NULL DEFAULT '',  -- that worker's claim token
    last_error      text        NOT NULL DEFAULT '',  -- why the last attempt failed (never the body)
    created_at      datetime    NOT NULL,
    sent_at         datetime    NULL
);
-- The claim: pending rows by due time.
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'pending';
-- Garbage collection: finished rows by age.
CREATE INDEX mail_outbox_finished_idx ON mail_outbox (created_at) WHERE status <> 'pending';

-- 0004 step-up: the authentication context classes an authorization request
-- requires (acr_values, an essential acr claim or the client's
-- default_acr_values, OIDC Core §3.1.2.1, §5.5.1.1; OIDC Registration §2),
-- space-separated, written by oidc when it creates the flow; login must
-- reach one of them before it may advance the flow.

ALTER TABLE flows ADD COLUMN required_acr text NOT NULL DEFAULT '';

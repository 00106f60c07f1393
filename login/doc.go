// Package login owns authentication: the ceremonies and pages that prove who a
// user is (passwords, passkeys, authenticator apps, backup codes, magic links
// and email codes; upstream providers to come), the browser SSO session, and
// writing the result onto the authorization flow record. It never issues
// tokens and never imports oidc.
//
//   - password.go: the password hasher, argon2id (RFC 9106) in PHC string
//     format, rehash-on-login when parameters change, and verification of
//     imported bcrypt hashes. hashslots.go: at most HashLimits.Concurrent
//     hashes at once (one per processor by default), each in block memory
//     its slot keeps (internal/argon2id), so neither a burst nor a steady
//     rate of sign-ins grows memory; a check that waits too long for a
//     slot gets ErrBusy, a 503.
//   - policy.go: the password policy (NIST SP 800-63B §3.1.1.2): a length,
//     and not one of the 10,000 most common passwords (a bundled list).
//   - session.go: Sessions, the SSO session: a cookie holding 256 random bits
//     (SessionCookie, __Host- prefixed on https), a database row keyed by
//     their SHA-256 with a separate public sid, idle and absolute lifetimes.
//     It implements oidc.Authenticator through cmd/janua, which converts
//     Authentication (the same fields) into oidc's.
//   - signin.go, signup.go, account.go: the pages. GET/POST /login?flow=…
//     signs a user in, starts the session and advances the flow created →
//     authenticated (Subject, SessionID = sid, AuthTime, AMR ["pwd"], ACR
//     ACRPassword), or rejects it with access_denied on Cancel, then
//     redirects to the resume path oidc gave (cmd/janua passes
//     oidc.ResumePath). A flow is only ever advanced by the browser that
//     started it (web.Cookies.BrowserHash).
//   - acr.go: the authentication context classes ("1" < "mfa" < "phr")
//     and RFC 8176 method references; a session's acr follows from its amr.
//     oidc asks SatisfiesACR whether a session meets a request's acr_values.
//   - factor.go: the second step. Every first factor ends in
//     afterFirstFactor, which signs in at once or, when the user has a second
//     factor, login.require_second_factor is on, or the flow's RequiredACR is
//     not met, keeps a pending sign-in (hot state, bound to browser and flow)
//     and shows /login/factor: the methods (secondFactor) that reach the
//     demand, or enrolment for a user who has none.
//   - security.go: /account/security, each method's section, signed-in
//     browsers, and the re-authentication window for sensitive changes.
//   - emailsignin.go, email.go, emailtoken.go: sign-in by email, a magic
//     link and a code in one message (storage.EmailToken: hashed, single
//     use, bound to the flow and browser that asked, dead after five wrong
//     codes); a link opened in another browser only asks for confirmation.
//     reset.go, verify.go, passwordchange.go: password reset, email
//     verification, password change. newsignin.go: the alert mailed when a
//     user signs in from a browser they never used. Every message is queued
//     (Options.Mail) in the transaction that creates its token.
//   - totp.go, totpenrol.go: authenticator apps (RFC 6238 with pquerna/otp)
//     as a second factor: enrolment with a server-drawn QR code, a secret
//     sealed at rest, each time step accepted once; backupcode.go: ten
//     single-use backup codes, keyed hashes only; codepage.go: the page of
//     codes shown once, and change notices queued in the change's
//     transaction.
//   - throttle.go: per-IP rate limits and per-account lockout in the shared
//     hot state, counted for unknown emails too so nothing reveals which
//     accounts exist.
//   - passkey.go (and passkey_login.go, passkey_factor.go,
//     passkey_register.go, passkey_offer.go): passkeys (WebAuthn, go-webauthn)
//     — passwordless sign-in with discoverable credentials, a second factor,
//     registration and the account's list; the page script is
//     static/assets/passkey.js.
//
// The hand-off protocol itself is documented on oidc.LoginPath.
package login

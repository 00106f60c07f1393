package oidc

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"github.com/madfam-org/janua/storage"
)

// token is the token endpoint (RFC 6749 §3.2): authorization_code (with
// PKCE, RFC 7636), refresh_token (rotated, RFC 9700 §4.14) and
// client_credentials. Every response is Cache-Control: no-store (§5.1).
func (p *Provider) token(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	w := c.Response()
	writeNoStore(w)
	allowAnyOrigin(w)
	if err := r.ParseForm(); err != nil {
		p.oauth.WriteAccessError(ctx, w, nil, fosite.ErrInvalidRequest.WithHint("The request body could not be read."))
		return nil
	}
	if p.blocked(c) {
		return nil
	}
	r = withAssertionAlg(r)
	c.SetRequest(r)
	if r.PostForm.Get("grant_type") == GrantRefreshToken {
		if done, err := p.refreshWithGrace(c); done || err != nil {
			return err
		}
	}
	_, err := p.exchange(c, c.Response())
	return err
}

// exchange runs fosite's token endpoint and writes its response to w; it
// returns the authenticated client's ID when tokens were issued.
func (p *Provider) exchange(c echo.Context, w http.ResponseWriter) (string, error) {
	r := c.Request()
	// fosite reads a code's rows (the code twice, its PKCE and OpenID
	// Connect requests) one call at a time: the memo loads them together.
	ctx := storage.WithCodeMemo(r.Context())
	sess := newSession()
	ar, err := p.oauth.NewAccessRequest(ctx, r, sess)
	if err != nil {
		err = p.replayOfHandedOffCode(ctx, err)
		p.tokenFailure(c, err)
		p.oauth.WriteAccessError(ctx, w, ar, err)
		return "", nil
	}
	if ar.GetGrantTypes().ExactOne(GrantClientCredentials) {
		timeOrderedID(ar)
	}
	if ar.GetGrantTypes().ExactOne(GrantRefreshToken) {
		// Slide the family's expiry: the new refresh token lives until
		// min(now + idle, the family's absolute end). fosite put a clone of
		// the used token's session on the request.
		if rs, ok := ar.GetSession().(*Session); ok {
			if rs.RefreshAbsolute.IsZero() {
				rs.RefreshAbsolute = rs.GetExpiresAt(fosite.RefreshToken)
			}
			if client, err := p.clients.get(ctx, ar.GetClient().GetID()); err == nil {
				rs.SetExpiresAt(fosite.RefreshToken, p.nextRefreshExpiry(rs, client, p.opts.Now()))
			}
		}
	}
	if ar.GetGrantTypes().ExactOne(GrantClientCredentials) {
		// The client acts for itself (RFC 6749 §4.4): it gets the scopes it
		// asked for that it is registered for (fosite checked), and is the
		// token's subject.
		client, err := p.clients.get(ctx, ar.GetClient().GetID())
		if err != nil {
			p.oauth.WriteAccessError(ctx, w, ar, fosite.ErrServerError.WithWrap(err))
			return "", nil
		}
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
		sess.ClientID = client.ID
		sess.Subject = client.ID
		sess.AccessTokenAlg = accessTokenAlg(client)
		if sess.AccessTokenAlg != "" {
			// Issued without a row, read back by its claims
			// (statelessjwt.go).
			if sess.AccessTokenExtra == nil {
				sess.AccessTokenExtra = map[string]any{}
			}
			sess.AccessTokenExtra[claimGrantType] = GrantClientCredentials
		}
	}
	resp, err := p.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		err = p.vanishedClient(ctx, ar, p.lostCodeRace(ctx, ar, err))
		p.tokenFailure(c, err)
		p.oauth.WriteAccessError(ctx, w, ar, err)
		return "", nil
	}
	p.oauth.WriteAccessResponse(ctx, w, ar, resp)
	return ar.GetClient().GetID(), nil
}

// tokenFailure logs a refused token request without its secrets, and counts
// it against the address when it looks like guessing.
func (p *Provider) tokenFailure(c echo.Context, err error) {
	r := c.Request()
	ctx := r.Context()
	if countsAsGuess(err) {
		p.failed(ctx, c.RealIP())
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	level := p.opts.Logger.InfoContext
	if rfc.CodeField >= 500 {
		level = p.opts.Logger.ErrorContext
	}
	level(ctx, "token request refused", "grant_type", r.PostForm.Get("grant_type"), "error", rfc.ErrorField,
		"hint", rfc.HintField, "debug", rfc.DebugField)
}

// lostCodeRace answers a redemption that lost a race for its code: two
// requests read the code unused, and the store found it used when this one
// committed (the redemption is deferred to the commit: storage/oauth2_redeem.go).
// fosite reports a commit's failure as a server error; this is a code
// used more than once, which RFC 6749 §4.1.2 answers with invalid_grant
// ("the authorization server MUST deny the request and SHOULD revoke ...
// all tokens previously issued based on that authorization code"), as
// fosite itself does when the second request comes after the first:
// the winner's tokens are revoked too. Any other error is returned as is.
func (p *Provider) lostCodeRace(ctx context.Context, ar fosite.AccessRequester, err error) error {
	if !ar.GetGrantTypes().ExactOne("authorization_code") {
		return err
	}
	if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		if errors.Is(err, fosite.ErrNotFound) {
			// The code's rows were deleted between its read and its
			// redemption (its client deleted, on another instance):
			// nothing issued from it is left to revoke.
			return fosite.ErrInvalidGrant.WithHint("The authorization code is no longer valid.").WithWrap(err)
		}
		return err
	}
	return p.refuseUsedCode(ctx, ar.GetID(), err)
}

// refuseUsedCode answers a code used more than once: the grant issued from
// it (request ID id) is revoked and the request refused with
// invalid_grant, as fosite answers a replay it sees (RFC 6749 §4.1.2).
func (p *Provider) refuseUsedCode(ctx context.Context, id string, err error) error {
	if id != "" {
		rerr := errors.Join(p.store.RevokeAccessToken(ctx, id), p.store.RevokeRefreshToken(ctx, id))
		if rerr != nil {
			return fosite.ErrServerError.WithWrap(rerr).WithDebug(rerr.Error())
		}
	}
	return fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.").WithWrap(err)
}

// replayOfHandedOffCode completes a refused token request whose code's
// rows came from the store's code handoff rather than the database
// (storage/codehandoff.go): the handoff knows a code as this instance
// issued it, so fosite could not see that the code was used meanwhile
// (on another instance) and refused the request for another reason (a
// wrong PKCE verifier, redirect URI or client) without revoking what was
// issued from the code, as it does when its read shows the code used
// (RFC 6749 §4.1.2: the server "SHOULD revoke (when possible) all tokens
// previously issued based on that authorization code"; §10.5). The
// database is asked, on this path only; a used code's grant is revoked
// and the request refused as a replay. Any other error is returned as
// is.
func (p *Provider) replayOfHandedOffCode(ctx context.Context, err error) error {
	id, used, cerr := p.store.HandedOffCodeUsed(ctx)
	if cerr != nil {
		return fosite.ErrServerError.WithWrap(cerr).WithDebug(cerr.Error())
	}
	if !used {
		return err
	}
	return p.refuseUsedCode(ctx, id, err)
}

// inflightMargin is how much longer a refresh's in-flight marker lives
// than the response it keeps: more than a rotation takes.
const inflightMargin = 10 * time.Second

// refreshWithGrace implements the rotation grace window: a refresh token
// that was just rotated, presented again by the same client within
// RefreshGrace (two tabs, a retried request), gets the very response the
// first presentation got instead of tripping reuse detection, which would
// revoke the whole family (RFC 9700 §4.14.2 allows it; Auth0 and Okta do
// the same). After the window, reuse revokes the family as usual.
//
// The response is kept in the hot state, sealed with a key derived from the
// old refresh token itself: only its holder can open it, and the hot state
// never holds a usable token in clear. It reports done when it answered.
func (p *Provider) refreshWithGrace(c echo.Context) (done bool, err error) {
	r := c.Request()
	ctx := r.Context()
	old := r.PostForm.Get("refresh_token")
	if old == "" {
		return false, nil
	}
	sum := sha256.Sum256([]byte(old))
	key := hex.EncodeToString(sum[:])
	// The in-flight marker is the first hot-state operation of every
	// refresh: the response of an earlier rotation is looked for only when
	// the marker says there was one, so a refresh costs two operations
	// (the marker, then the kept response), not three. The marker outlives
	// the kept response (inflightMargin) so that it never expires first: a
	// replay that found no marker but a kept response would go to fosite
	// and be taken for reuse within the window.
	marked := p.opts.RefreshGrace + inflightMargin
	markedAt := time.Now()
	first, err := p.hot.MarkUsed(ctx, "rt-inflight:"+key, marked)
	if err != nil {
		return false, nil // the hot state is down: refresh without the window
	}
	if !first {
		if sent, ok := p.graceReplay(c, old, key); ok || sent {
			return true, nil
		}
		// Another request is rotating this token right now: wait briefly
		// for its response, unless it was refused.
		deadline := time.Now().Add(min(p.opts.RefreshGrace, 3*time.Second))
		for time.Now().Before(deadline) {
			if _, err := p.hot.Get(ctx, "rt-refused:"+key); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return true, ctx.Err()
			case <-time.After(25 * time.Millisecond):
			}
			if sent, ok := p.graceReplay(c, old, key); ok || sent {
				return true, nil
			}
		}
		return false, nil
	}
	// Rotate for real, capturing the response to keep it for the window.
	rec := httptest.NewRecorder()
	clientID, err := p.exchange(c, rec)
	for k, vs := range rec.Header() {
		c.Response().Header()[k] = vs
	}
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		// Kept no longer than the marker lives: a replay that found no
		// marker would go to fosite and be taken for reuse.
		keep := min(p.opts.RefreshGrace, marked-time.Since(markedAt))
		if sealed, serr := sealForHolder(old, append([]byte(clientID+"\n"), body...)); serr == nil && keep > 0 {
			_ = p.hot.Put(ctx, "rt-grace:"+key, sealed, keep)
		}
	} else {
		// Refused (another client, a bad secret, a conflict): nothing is
		// coming for the requests that wait above, nor for later ones that
		// find the in-flight marker; they go to fosite at once.
		_ = p.hot.Put(ctx, "rt-refused:"+key, []byte{1}, marked)
	}
	c.Response().WriteHeader(rec.Code)
	_, _ = c.Response().Write(body)
	return true, err
}

// graceReplay answers with a kept response, after authenticating the client
// as the original request did. sent reports that a response (a refusal)
// was written; ok that the kept response was.
func (p *Provider) graceReplay(c echo.Context, old, key string) (sent, ok bool) {
	r := c.Request()
	ctx := r.Context()
	sealed, err := p.hot.Get(ctx, "rt-grace:"+key)
	if err != nil {
		return false, false
	}
	plain, err := openForHolder(old, sealed)
	if err != nil {
		return false, false
	}
	client, err := p.oauth.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil {
		p.tokenFailure(c, err)
		p.oauth.WriteAccessError(ctx, c.Response(), nil, err)
		return true, false
	}
	kept, body, _ := bytes.Cut(plain, []byte("\n"))
	if string(kept) != client.GetID() {
		return false, false // another client: let fosite refuse it
	}
	if !bytes.Contains(body, []byte(`"access_token"`)) {
		return false, false
	}
	p.opts.Logger.InfoContext(ctx, "refresh token replayed within the grace window", "client_id", client.GetID())
	c.Response().Header().Set("Content-Type", "application/json;charset=UTF-8")
	c.Response().WriteHeader(http.StatusOK)
	_, _ = c.Response().Write(body)
	return true, true
}

// sealForHolder encrypts data so that only the holder of token can read it.
func sealForHolder(token string, data []byte) ([]byte, error) {
	aead, err := holderAEAD(token)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, data, nil), nil
}

func openForHolder(token string, sealed []byte) ([]byte, error) {
	aead, err := holderAEAD(token)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("oidc: sealed value too short")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
}

func holderAEAD(token string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, []byte(token), []byte("janua refresh grace"), "v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// allowAnyOrigin lets browser apps (public clients) call the endpoint:
// these endpoints take credentials in the request, never cookies.
func allowAnyOrigin(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

// vanishedClient answers a grant whose client was deleted while this
// instance still had it cached (the deletion's broadcast had not arrived):
// the token row's foreign key refuses it (a conflict), or the rows the
// grant redeems went with the client (not found), which fosite reports as
// a server error. The client is dropped from the cache and the request
// answered as for an unknown client (RFC 6749 §5.2, invalid_client). Any
// other error is returned as is.
func (p *Provider) vanishedClient(ctx context.Context, ar fosite.AccessRequester, err error) error {
	if !(errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound)) || ar.GetClient() == nil {
		return err
	}
	id := ar.GetClient().GetID()
	if _, gerr := p.store.GetClient(ctx, id); !errors.Is(gerr, storage.ErrNotFound) {
		return err
	}
	p.clients.evict(id)
	return fosite.ErrInvalidClient.WithHint("The client no longer exists.")
}

package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	josev3 "github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	fositejwt "github.com/ory/fosite/token/jwt"
)

// headerAlg is the private header hint by which a session asks the signer
// for an algorithm (the client's id_token_signed_response_alg). fosite's
// Headers.ToMap drops "alg", so the hint has a name of its own; the signer
// never copies session headers into the JWS: its header is always the
// key's own alg and kid, and typ.
const headerAlg = "janua_alg"

// jwsSigner signs and verifies Janua's JWTs with the keyring. It implements
// fosite's jwt.Signer, so fosite's OpenID Connect handlers sign ID tokens
// with it, and it signs JWT access tokens (RFC 9068) and userinfo responses.
//
// Verification accepts only our published keys, chosen by kid, and only
// with the key's own algorithm: "alg": "none", a forged kid or an
// algorithm swap fails (RFC 8725 §3.1, §3.2).
type jwsSigner struct {
	keys *Keyring
	now  func() time.Time
	// typ is the JWT "typ" header this signer writes ("JWT", or "at+jwt"
	// for access tokens, RFC 9068 §2.1).
	typ string
}

var _ fositejwt.Signer = (*jwsSigner)(nil)

// Generate signs claims with the active key of the algorithm the header
// asks for (RS256 by default) and returns the token and its signature.
func (s *jwsSigner) Generate(ctx context.Context, claims fositejwt.MapClaims, header fositejwt.Mapper) (string, string, error) {
	alg := RS256
	if h, ok := header.(interface{ Get(string) any }); ok {
		if a, ok := h.Get(headerAlg).(string); ok && a != "" {
			alg = a
		}
	}
	key, ok := s.keys.current().active[alg]
	if !ok {
		return "", "", fmt.Errorf("oidc: no active key for %q", alg)
	}
	signer := key.jwtSigner
	if s.typ == "at+jwt" {
		signer = key.atSigner
	}
	raw, err := josejwt.Signed(signer).Claims(map[string]any(claims)).Serialize()
	if err != nil {
		return "", "", fmt.Errorf("oidc: sign: %w", err)
	}
	return raw, raw[strings.LastIndexByte(raw, '.')+1:], nil
}

// Decode verifies token's signature against the published keys and checks
// its time claims. An expired but otherwise valid token is returned with a
// ValidationError flagged Expired (id_token_hint may be expired, OIDC Core
// §3.1.2.1).
func (s *jwsSigner) Decode(ctx context.Context, token string) (*fositejwt.Token, error) {
	parsed, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return nil, &fositejwt.ValidationError{Errors: fositejwt.ValidationErrorMalformed, Inner: err}
	}
	if len(parsed.Headers) != 1 {
		return nil, &fositejwt.ValidationError{Errors: fositejwt.ValidationErrorMalformed, Inner: errors.New("one signature expected")}
	}
	h := parsed.Headers[0]
	pub, err := s.keys.publicKey(h.KeyID, h.Algorithm)
	if err != nil {
		return nil, &fositejwt.ValidationError{Errors: fositejwt.ValidationErrorUnverifiable, Inner: err}
	}
	claims := fositejwt.MapClaims{}
	if err := parsed.Claims(pub, &claims); err != nil {
		return nil, &fositejwt.ValidationError{Errors: fositejwt.ValidationErrorSignatureInvalid, Inner: err}
	}
	t := &fositejwt.Token{Header: map[string]any{"alg": h.Algorithm, "kid": h.KeyID}, Claims: claims, Method: josev3.SignatureAlgorithm(h.Algorithm)}
	for k, v := range h.ExtraHeaders {
		t.Header[string(k)] = v
	}
	now := s.now().Unix()
	if exp, ok := numericClaim(claims["exp"]); ok && now > exp {
		return t, &fositejwt.ValidationError{Errors: fositejwt.ValidationErrorExpired, Inner: errors.New("token is expired")}
	}
	if nbf, ok := numericClaim(claims["nbf"]); ok && now+60 < nbf {
		return t, &fositejwt.ValidationError{Errors: fositejwt.ValidationErrorNotValidYet, Inner: errors.New("token is not valid yet")}
	}
	return t, nil
}

// Validate verifies token and returns its signature.
func (s *jwsSigner) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return s.GetSignature(ctx, token)
}

// GetSignature returns the signature part of a compact JWS.
func (s *jwsSigner) GetSignature(_ context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("oidc: not a compact JWS")
	}
	return parts[2], nil
}

// Hash is SHA-256: fosite uses it for at_hash and c_hash of RS256/ES256
// tokens (OIDC Core §3.3.2.11).
func (s *jwsSigner) Hash(_ context.Context, in []byte) ([]byte, error) {
	sum := sha256.Sum256(in)
	return sum[:], nil
}

// GetSigningMethodLength is SHA-256's size.
func (s *jwsSigner) GetSigningMethodLength(context.Context) int { return sha256.Size }

func numericClaim(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case int64:
		return n, true
	}
	return 0, false
}

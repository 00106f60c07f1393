package conformance

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// idToken is a parsed, not yet trusted, ID Token (OpenID Connect Core 1.0 §2).
type idToken struct {
	Raw    string
	Header map[string]any
	Claims map[string]any
}

func (tok *idToken) alg() string { s, _ := tok.Header["alg"].(string); return s }
func (tok *idToken) kid() string { s, _ := tok.Header["kid"].(string); return s }

func (tok *idToken) str(name string) string { s, _ := tok.Claims[name].(string); return s }

// num returns a numeric claim and whether it is one.
func (tok *idToken) num(name string) (int64, bool) {
	switch v := tok.Claims[name].(type) {
	case float64:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	}
	return 0, false
}

// parseIDToken splits a compact JWS and decodes header and claims (RFC 7515 §7.1).
// Encrypted ID Tokens (five parts) are not used by these plans.
func parseIDToken(raw string) (*idToken, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("id_token is not a compact JWS (%d parts)", len(parts))
	}
	tok := &idToken{Raw: raw}
	for i, dst := range []*map[string]any{&tok.Header, &tok.Claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("id_token part %d is not base64url: %w", i+1, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			return nil, fmt.Errorf("id_token part %d is not a JSON object: %w", i+1, err)
		}
	}
	for k, v := range tok.Claims {
		if n, ok := v.(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				tok.Claims[k] = f
			}
		}
	}
	return tok, nil
}

var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// verifySignature is ValidateIdTokenSignature: the JWS verifies with one of the OP's
// keys (OpenID Connect Core 1.0 §3.1.3.7 step 6). With byKid, only the key the header's
// kid names is tried (ValidateIdTokenSignatureUsingKid, OpenID Connect Core 1.0 §10.1).
func verifySignature(tok *idToken, set *jose.JSONWebKeySet, byKid bool) error {
	if strings.EqualFold(tok.alg(), "none") {
		return errors.New("id_token is unsigned (alg none)")
	}
	if set == nil || len(set.Keys) == 0 {
		return errors.New("no server keys to verify the id_token with")
	}
	jws, err := jose.ParseSignedCompact(tok.Raw, signingAlgs)
	if err != nil {
		return fmt.Errorf("id_token is not a valid JWS: %w", err)
	}
	keys := set.Keys
	if byKid {
		if tok.kid() == "" {
			if len(set.Keys) == 1 {
				keys = set.Keys
			} else {
				return errors.New("id_token header has no kid and the server JWKS has several keys")
			}
		} else {
			keys = set.Key(tok.kid())
			if len(keys) == 0 {
				return fmt.Errorf("no key with kid %q in the server JWKS", tok.kid())
			}
		}
	}
	for _, k := range keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != tok.alg() {
			continue
		}
		if _, err := jws.Verify(k.Key); err == nil {
			return nil
		}
	}
	return fmt.Errorf("id_token signature (alg %s, kid %q) does not verify with the server JWKS", tok.alg(), tok.kid())
}

// validateIDToken is ValidateIdToken: iss, aud, exp, iat, auth_time, acr (OpenID
// Connect Core 1.0 §2, §3.1.3.7) with the suite's 5-minute skew.
func validateIDToken(tok *idToken, issuer, clientID string, now time.Time) error {
	const skew = 5 * time.Minute
	iss, ok := tok.Claims["iss"]
	if !ok {
		return errors.New("'iss' claim missing")
	}
	if iss != issuer {
		return fmt.Errorf("issuer mismatch: expected %q, got %v", issuer, iss)
	}
	switch aud := tok.Claims["aud"].(type) {
	case nil:
		return errors.New("'aud' claim missing")
	case string:
		if aud != clientID {
			return fmt.Errorf("'aud' is not our client id: expected %q, got %q", clientID, aud)
		}
	case []any:
		found := false
		for _, a := range aud {
			found = found || a == clientID
		}
		if !found {
			return fmt.Errorf("'aud' array does not contain our client id %q: %v", clientID, aud)
		}
	default:
		return fmt.Errorf("'aud' is neither a string nor an array: %v", aud)
	}
	exp, ok := tok.num("exp")
	if !ok {
		return errors.New("'exp' claim missing")
	}
	if now.Add(-skew).After(time.Unix(exp, 0)) {
		return fmt.Errorf("token expired at %s", time.Unix(exp, 0).UTC())
	}
	if time.Unix(exp, 0).After(now.AddDate(50, 0, 0)) {
		return fmt.Errorf("'exp' is more than 50 years in the future")
	}
	iat, ok := tok.num("iat")
	if !ok {
		return errors.New("'iat' claim missing")
	}
	if now.Add(skew).Before(time.Unix(iat, 0)) {
		return fmt.Errorf("token 'iat' in the future: %s", time.Unix(iat, 0).UTC())
	}
	if now.Add(-skew).After(time.Unix(iat, 0)) {
		return fmt.Errorf("token 'iat' more than 5 minutes in the past: %s", time.Unix(iat, 0).UTC())
	}
	if _, present := tok.Claims["auth_time"]; present {
		at, ok := tok.num("auth_time")
		if !ok {
			return errors.New("'auth_time' is not a number")
		}
		if now.AddDate(-1, 0, 0).After(time.Unix(at, 0)) {
			return errors.New("id_token auth_time is over a year in the past")
		}
		if now.Add(skew).Before(time.Unix(at, 0)) {
			return errors.New("id_token auth_time is in the future")
		}
	}
	if acr, present := tok.Claims["acr"]; present {
		if s, ok := acr.(string); !ok || s == "" {
			return fmt.Errorf("id_token acr is not a non-empty string: %v", acr)
		}
	}
	return nil
}

// checkSub is CheckForSubjectInIdToken (OpenID Connect Core 1.0 §2: sub is required,
// at most 255 ASCII characters).
func checkSub(tok *idToken) error {
	s := tok.str("sub")
	if s == "" {
		return errors.New("id_token has no 'sub' claim")
	}
	if len(s) > 255 {
		return errors.New("'sub' is longer than 255 characters")
	}
	return nil
}

// checkNonce is ValidateIdTokenNonce (OpenID Connect Core 1.0 §3.1.3.7 step 11).
func checkNonce(tok *idToken, nonce string) error {
	got, present := tok.Claims["nonce"]
	if nonce == "" {
		if present {
			return fmt.Errorf("id_token contains a nonce %v although none was requested", got)
		}
		return nil
	}
	if got != nonce {
		return fmt.Errorf("nonce mismatch: expected %q, got %v", nonce, got)
	}
	return nil
}

// hashFor returns the hash a JWS alg uses for at_hash / c_hash (OpenID Connect Core
// 1.0 §3.3.2.11: the hash of the alg's JWS; EdDSA with Ed25519 uses SHA-512).
func hashFor(alg string) (hash.Hash, error) {
	switch {
	case strings.HasSuffix(alg, "256"):
		return sha256.New(), nil
	case strings.HasSuffix(alg, "384"):
		return sha512.New384(), nil
	case strings.HasSuffix(alg, "512"), alg == "EdDSA", alg == "Ed25519":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("no hash known for alg %q", alg)
}

// leftHalfHash is base64url(left-most half of hash(value)).
func leftHalfHash(alg, value string) (string, error) {
	h, err := hashFor(alg)
	if err != nil {
		return "", err
	}
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}

// checkHash is ValidateAtHash / ValidateCHash: claim is the left-half hash of value.
func checkHash(tok *idToken, claim, value string) error {
	got := tok.str(claim)
	if got == "" {
		return fmt.Errorf("id_token has no %s", claim)
	}
	want, err := leftHalfHash(tok.alg(), value)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s %q does not match the hash of the value (%q)", claim, got, want)
	}
	return nil
}

package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	fositejwt "github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

func newTestKeyring(t *testing.T) (*Keyring, *storage.Store) {
	t.Helper()
	s := storagetest.OpenSQLite(t)
	k := NewKeyring(s, nil, nil, nil)
	if err := k.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return k, s
}

func header(t *testing.T, jwt string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// The session's hint picks the key; the JWS header is the key's own alg and
// kid, whatever else the session's headers say.
func TestSignerSignsWithTheRequestedAlgorithm(t *testing.T) {
	ctx := context.Background()
	keys, _ := newTestKeyring(t)
	s := &jwsSigner{keys: keys, now: time.Now, typ: "JWT"}
	var jwks struct {
		Keys []struct{ Kid, Alg, Use string }
	}
	doc, _ := keys.JWKS()
	if err := json.Unmarshal(doc, &jwks); err != nil || len(jwks.Keys) != 3 {
		t.Fatalf("jwks %s: %v", doc, err)
	}
	for _, alg := range []string{RS256, ES256, EdDSA} {
		claims := fositejwt.MapClaims{"iss": "https://id.example.com", "sub": "u", "exp": time.Now().Add(time.Minute).Unix()}
		// "alg" as fosite's at_hash helper sees it, and a stray header: neither reaches the JWS.
		tok, sig, err := s.Generate(ctx, claims, &fositejwt.Headers{Extra: map[string]any{headerAlg: alg, "alg": "none", "x": "y"}})
		if err != nil {
			t.Fatal(err)
		}
		h := header(t, tok)
		if h["alg"] != alg || h["typ"] != "JWT" || h["x"] != nil || !strings.HasSuffix(tok, "."+sig) {
			t.Fatalf("%s: header %v", alg, h)
		}
		found := false
		for _, k := range jwks.Keys {
			found = found || (k.Kid == h["kid"] && k.Alg == alg && k.Use == "sig")
		}
		if !found {
			t.Fatalf("%s: kid %v is not published with its alg", alg, h["kid"])
		}
		if got, err := s.Decode(ctx, tok); err != nil || got.Claims["sub"] != "u" {
			t.Fatalf("%s: decode: %v", alg, err)
		}
	}
	at := &jwsSigner{keys: keys, now: time.Now, typ: "at+jwt"}
	tok, _, _ := at.Generate(ctx, fositejwt.MapClaims{"sub": "c"}, &fositejwt.Headers{Extra: map[string]any{headerAlg: ES256}})
	if h := header(t, tok); h["typ"] != "at+jwt" || h["alg"] != ES256 {
		t.Fatalf("access token header %v (RFC 9068 §2.1)", h)
	}
}

func TestSignerRefusesForgeries(t *testing.T) {
	ctx := context.Background()
	keys, _ := newTestKeyring(t)
	s := &jwsSigner{keys: keys, now: time.Now, typ: "JWT"}
	good, _, _ := s.Generate(ctx, fositejwt.MapClaims{"sub": "u", "exp": time.Now().Add(time.Minute).Unix()}, &fositejwt.Headers{Extra: map[string]any{headerAlg: RS256}})
	parts := strings.Split(good, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	otherKid := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"not-ours"}`)) + "." + parts[1] + "." + parts[2]
	swapped := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"`+header(t, good)["kid"].(string)+`"}`)) + "." + parts[1] + "." + parts[2]
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2]
	for name, tok := range map[string]string{"alg none": none, "unknown kid": otherKid, "alg swap": swapped, "tampered claims": tampered, "garbage": "a.b"} {
		if _, err := s.Decode(ctx, tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	expired, _, _ := s.Generate(ctx, fositejwt.MapClaims{"sub": "u", "exp": time.Now().Add(-time.Hour).Unix()}, &fositejwt.Headers{Extra: map[string]any{headerAlg: ES256}})
	tok, err := s.Decode(ctx, expired)
	var ve *fositejwt.ValidationError
	if !errors.As(err, &ve) || !ve.Has(fositejwt.ValidationErrorExpired) || tok == nil || tok.Claims["sub"] != "u" {
		t.Fatalf("expired token: %v (an expired id_token_hint is still identified, OIDC Core §3.1.2.1)", err)
	}
}

// A rotation publishes a new signing key at once and keeps the old one in
// the JWKS, so what it signed still verifies.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	keys, store := newTestKeyring(t)
	s := &jwsSigner{keys: keys, now: time.Now, typ: "JWT"}
	before, _, _ := s.Generate(ctx, fositejwt.MapClaims{"sub": "u"}, &fositejwt.Headers{Extra: map[string]any{headerAlg: RS256}})
	created, err := keys.Rotate(ctx, []string{RS256}, time.Hour)
	if err != nil || len(created) != 1 {
		t.Fatalf("rotate: %v %v", created, err)
	}
	after, _, _ := s.Generate(ctx, fositejwt.MapClaims{"sub": "u"}, &fositejwt.Headers{Extra: map[string]any{headerAlg: RS256}})
	if header(t, after)["kid"] != created[0] || header(t, before)["kid"] == created[0] {
		t.Fatal("the new key does not sign")
	}
	if _, err := s.Decode(ctx, before); err != nil {
		t.Fatalf("a token of the retired key no longer verifies: %v", err)
	}
	doc, _ := keys.JWKS()
	if !strings.Contains(string(doc), header(t, before)["kid"].(string)) || !strings.Contains(string(doc), created[0]) {
		t.Fatal("the JWKS lacks the old or the new key")
	}
	stored, _ := store.ListSigningKeys(ctx)
	retired := 0
	for _, k := range stored {
		if k.RetiredAt != nil {
			retired++
			if k.ExpiresAt == nil || time.Until(*k.ExpiresAt) > time.Hour+time.Minute {
				t.Fatalf("retired key expires at %v, want in an hour", k.ExpiresAt)
			}
		}
	}
	if retired != 1 || len(stored) != 4 {
		t.Fatalf("%d keys, %d retired; want 4 and 1", len(stored), retired)
	}
}

package oidc

import (
	"context"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/hmac"
	fositejwt "github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage/storagetest"
)

// Opaque access tokens: generation (256 random bits and an HMAC-SHA256)
// and validation (the HMAC again, and the expiry), as the token endpoint
// and the resource endpoints do them.
func BenchmarkOpaqueAccessToken(b *testing.B) {
	cfg := &fositeConfig{Config: &fosite.Config{GlobalSecret: []byte("0123456789abcdef0123456789abcdef"), TokenEntropy: 32, AccessTokenLifespan: time.Hour}}
	h := newPrefixedHMACStrategy(&hmac.HMACStrategy{Config: cfg}, cfg)
	ctx := context.Background()
	sess := newSession()
	sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(time.Hour))
	req := &fosite.Request{Session: sess}
	b.Run("Generate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := h.GenerateAccessToken(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	tok, _, err := h.GenerateAccessToken(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := h.ValidateAccessToken(ctx, req, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ID token signing and verification per algorithm, through the signer
// fosite calls, with the claims of a typical ID token.
func BenchmarkIDToken(b *testing.B) {
	ctx := context.Background()
	keys := NewKeyring(storagetest.OpenSQLite(b), nil, nil, nil)
	if err := keys.Load(ctx); err != nil {
		b.Fatal(err)
	}
	s := &jwsSigner{keys: keys, now: time.Now, typ: "JWT"}
	for _, alg := range []string{RS256, ES256, EdDSA} {
		claims := func() fositejwt.MapClaims {
			now := time.Now()
			return fositejwt.MapClaims{"iss": "https://id.example.com", "sub": "0195e0a4-9c3b-7f1e-8a2b-3c4d5e6f7a8b", "aud": []string{"client"},
				"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "auth_time": now.Unix(), "nonce": "n-0S6_WzA2Mj",
				"at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "email": "ana@example.com", "email_verified": true}
		}
		header := &fositejwt.Headers{Extra: map[string]any{headerAlg: alg}}
		b.Run("Sign/"+alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Generate(ctx, claims(), header); err != nil {
					b.Fatal(err)
				}
			}
		})
		tok, _, err := s.Generate(ctx, claims(), header)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("Verify/"+alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Decode(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

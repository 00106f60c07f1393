package storage_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/storage/storagetest"
)

// Round trips of fosite's hottest storage calls on every backend: loading an
// access token with its client (every introspection and userinfo request)
// and storing one (every token response).
func BenchmarkOAuth2(b *testing.B) {
	for _, be := range storagetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			s, err := storage.Open(ctx, storage.Options{URL: be.NewDatabaseURL(b), Secret: []byte("bench secret, long enough for a key")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256([]byte("s"))
			c := &storage.Client{ID: "bench", SecretHash: sum[:], Name: "bench", TokenEndpointAuthMethod: "client_secret_basic",
				RedirectURIs: []string{"https://a.example.com/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "offline_access"}}
			if err := s.CreateClient(ctx, c); err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC()
			req := &fosite.Request{
				ID: "bench-request", RequestedAt: now, Client: storage.NewFositeClient(c),
				RequestedScope: fosite.Arguments{"openid", "offline_access"}, GrantedScope: fosite.Arguments{"openid", "offline_access"},
				Form: url.Values{"grant_type": {"authorization_code"}, "client_id": {"bench"}},
				Session: &openid.DefaultSession{
					Claims:    &jwt.IDTokenClaims{Subject: "alice", AuthTime: now, RequestedAt: now, Extra: map[string]any{"sid": "s"}},
					Headers:   &jwt.Headers{Extra: map[string]any{"kid": "k"}},
					ExpiresAt: map[fosite.TokenType]time.Time{fosite.AccessToken: now.Add(time.Hour)},
					Subject:   "alice",
				},
			}
			if err := s.CreateAccessTokenSession(ctx, "bench-signature", req); err != nil {
				b.Fatal(err)
			}
			b.Run("GetAccessTokenSession", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.GetAccessTokenSession(ctx, "bench-signature", openid.NewDefaultSession()); err != nil {
						b.Fatal(err)
					}
				}
			})
			// A refresh: in one transaction the used refresh token turns
			// inactive with its access token, and the new pair is stored
			// (statements inside a transaction: each must be one round trip,
			// never a prepare and an execute).
			// Keys stay unique across the runs b.Run makes of one body.
			run := 0
			b.Run("RotateRefreshTokenTx", func(b *testing.B) {
				b.ReportAllocs()
				run++
				rt, at := fmt.Sprintf("rt-%d-0", run), fmt.Sprintf("at-%d-0", run)
				if err := s.CreateAccessTokenSession(ctx, at, req); err != nil {
					b.Fatal(err)
				}
				if err := s.CreateRefreshTokenSession(ctx, rt, at, req); err != nil {
					b.Fatal(err)
				}
				i := 0
				for b.Loop() {
					i++
					tx, err := s.BeginTX(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if err := s.RotateRefreshToken(tx, req.ID, rt); err != nil {
						b.Fatal(err)
					}
					rt, at = fmt.Sprintf("rt-%d-%d", run, i), fmt.Sprintf("at-%d-%d", run, i)
					if err := s.CreateAccessTokenSession(tx, at, req); err != nil {
						b.Fatal(err)
					}
					if err := s.CreateRefreshTokenSession(tx, rt, at, req); err != nil {
						b.Fatal(err)
					}
					if err := s.Commit(tx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("CreateAccessTokenSession", func(b *testing.B) {
				b.ReportAllocs()
				run++
				i := 0
				for b.Loop() {
					i++
					if err := s.CreateAccessTokenSession(ctx, fmt.Sprintf("sig-%d-%d", run, i), req); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

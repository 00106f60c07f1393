package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/madfam-org/janua/storage"
)

// The JWS algorithms Janua signs with (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// keysChannel is the hot-state broadcast telling every instance to reload
// its signing keys (after a rotation).
const keysChannel = "oidc.keys"

// KeyStore is the signing-key persistence the keyring consumes.
type KeyStore interface {
	CreateSigningKey(ctx context.Context, k *storage.SigningKey) error
	ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error)
	RetireSigningKey(ctx context.Context, kid string, retiredAt, expiresAt time.Time) error
}

// Keyring holds the server's signing keys: one active key per algorithm
// signs, and every key that has not expired is published in the JWKS so
// that what it signed still verifies after a rotation. Reads are lock-free
// (an immutable snapshot swapped atomically).
type Keyring struct {
	store KeyStore
	hot   storage.HotState
	log   *slog.Logger
	now   func() time.Time
	snap  atomic.Pointer[keySnapshot]
}

// keySnapshot is one consistent view of the keys.
type keySnapshot struct {
	active map[string]*signingKey // by algorithm: the newest unretired key
	byKID  map[string]*signingKey // every published key
	jwks   []byte                 // the JWK Set document, serialised once
	etag   string
}

// signingKey is one key pair, ready to sign.
type signingKey struct {
	kid     string
	alg     string
	private crypto.Signer
	public  crypto.PublicKey
	retired bool
	// signers per JWT "typ", built once (jose.Signer is safe for reuse).
	jwtSigner jose.Signer
	atSigner  jose.Signer
}

// NewKeyring returns an empty keyring; call Load (janua serve does) before use.
func NewKeyring(store KeyStore, hot storage.HotState, log *slog.Logger, now func() time.Time) *Keyring {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keyring{store: store, hot: hot, log: log, now: now}
}

// Load reads the keys from storage, generating an active key for every
// algorithm that has none (first start), and swaps the snapshot.
func (k *Keyring) Load(ctx context.Context) error {
	keys, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("oidc: load signing keys: %w", err)
	}
	generated := false
	for _, alg := range SupportedSigningAlgs() {
		if !hasActive(keys, alg) {
			if _, err := k.generate(ctx, alg); err != nil {
				return err
			}
			generated = true
		}
	}
	if generated {
		// Read back what is stored, so that instances that raced to
		// generate agree on the newest key.
		if keys, err = k.store.ListSigningKeys(ctx); err != nil {
			return fmt.Errorf("oidc: load signing keys: %w", err)
		}
	}
	snap, err := buildSnapshot(keys)
	if err != nil {
		return err
	}
	k.snap.Store(snap)
	return nil
}

func hasActive(keys []storage.SigningKey, alg string) bool {
	for _, sk := range keys {
		if sk.Algorithm == alg && sk.RetiredAt == nil {
			return true
		}
	}
	return false
}

// Rotate creates a new key for each algorithm and retires the ones that
// signed until now. Retired keys stay published until retireFor has passed
// (the longest lifetime of anything they signed), then expire.
func (k *Keyring) Rotate(ctx context.Context, algs []string, retireFor time.Duration) ([]string, error) {
	if len(algs) == 0 {
		algs = SupportedSigningAlgs()
	}
	keys, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("oidc: rotate: %w", err)
	}
	var created []string
	now := k.now()
	for _, alg := range algs {
		if !slices.Contains(SupportedSigningAlgs(), alg) {
			return created, fmt.Errorf("oidc: cannot rotate %q: Janua signs with %v", alg, SupportedSigningAlgs())
		}
		kid, err := k.generate(ctx, alg)
		if err != nil {
			return created, err
		}
		created = append(created, kid)
		for _, sk := range keys {
			if sk.Algorithm == alg && sk.RetiredAt == nil {
				if err := k.store.RetireSigningKey(ctx, sk.ID, now, now.Add(retireFor)); err != nil {
					return created, fmt.Errorf("oidc: retire key %s: %w", sk.ID, err)
				}
			}
		}
	}
	if err := k.Load(ctx); err != nil {
		return created, err
	}
	if k.hot != nil {
		if err := k.hot.Publish(ctx, keysChannel, "rotated"); err != nil {
			k.log.WarnContext(ctx, "could not tell other instances about the key rotation; they reload within a minute", "err", err)
		}
	}
	return created, nil
}

// Watch reloads the keys when another instance announces a rotation, and
// every interval in any case, until ctx ends.
func (k *Keyring) Watch(ctx context.Context, interval time.Duration) {
	reload := make(chan struct{}, 1)
	if k.hot != nil {
		stop, err := subscribe(ctx, k.hot, keysChannel, func(string) {
			select {
			case reload <- struct{}{}:
			default:
			}
		})
		if err != nil {
			k.log.WarnContext(ctx, "key rotation broadcasts unavailable; reloading on a timer only", "err", err)
		} else {
			defer stop()
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
		case <-t.C:
		}
		if err := k.Load(ctx); err != nil && ctx.Err() == nil {
			k.log.ErrorContext(ctx, "reloading signing keys failed", "err", err)
		}
	}
}

// subscribe is storage.SubscribeFor with the 5 s bound every cache here
// uses.
func subscribe(ctx context.Context, hot storage.HotState, channel string, fn func(string)) (func(), error) {
	return storage.SubscribeFor(ctx, hot, channel, fn, 5*time.Second)
}

// generate creates and stores a new key for alg and returns its kid.
func (k *Keyring) generate(ctx context.Context, alg string) (string, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return "", fmt.Errorf("oidc: unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return "", fmt.Errorf("oidc: generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("oidc: encode %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("oidc: thumbprint: %w", err)
	}
	// RFC 7638 thumbprint: a kid that is unique and says nothing secret.
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	pub, err := jwk.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("oidc: public JWK: %w", err)
	}
	sk := &storage.SigningKey{ID: jwk.KeyID, Algorithm: alg, Use: "sig", PublicJWK: pub, PrivateKey: der, CreatedAt: k.now()}
	if err := k.store.CreateSigningKey(ctx, sk); err != nil {
		return "", fmt.Errorf("oidc: store %s key: %w", alg, err)
	}
	k.log.InfoContext(ctx, "generated signing key", "alg", alg, "kid", jwk.KeyID)
	return jwk.KeyID, nil
}

// buildSnapshot turns stored keys (newest first) into a ready snapshot.
func buildSnapshot(keys []storage.SigningKey) (*keySnapshot, error) {
	s := &keySnapshot{active: map[string]*signingKey{}, byKID: map[string]*signingKey{}}
	set := jose.JSONWebKeySet{}
	for _, sk := range keys {
		parsed, err := x509.ParsePKCS8PrivateKey(sk.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("oidc: signing key %s: %w", sk.ID, err)
		}
		priv, ok := parsed.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("oidc: signing key %s is not a signer", sk.ID)
		}
		key := &signingKey{kid: sk.ID, alg: sk.Algorithm, private: priv, public: priv.Public(), retired: sk.RetiredAt != nil}
		if key.jwtSigner, err = newJOSESigner(key, "JWT"); err != nil {
			return nil, err
		}
		if key.atSigner, err = newJOSESigner(key, "at+jwt"); err != nil {
			return nil, err
		}
		s.byKID[key.kid] = key
		if _, taken := s.active[key.alg]; !taken && !key.retired {
			s.active[key.alg] = key // keys come newest first
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: key.public, KeyID: key.kid, Algorithm: key.alg, Use: "sig"})
	}
	for _, alg := range SupportedSigningAlgs() {
		if s.active[alg] == nil {
			return nil, fmt.Errorf("oidc: no active %s signing key", alg)
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("oidc: JWKS: %w", err)
	}
	s.jwks = doc
	s.etag = etagOf(doc)
	return s, nil
}

func newJOSESigner(k *signingKey, typ string) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", k.kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: k.private}, opts)
	if err != nil {
		return nil, fmt.Errorf("oidc: signer for %s: %w", k.kid, err)
	}
	return s, nil
}

// current returns the snapshot; Load must have succeeded once.
func (k *Keyring) current() *keySnapshot {
	s := k.snap.Load()
	if s == nil {
		panic("oidc: keyring used before Load")
	}
	return s
}

// JWKS returns the published JWK Set document and its entity tag.
func (k *Keyring) JWKS() ([]byte, string) {
	s := k.current()
	return s.jwks, s.etag
}

// errUnknownKey: a token names a kid we never published (or no longer do).
var errUnknownKey = errors.New("oidc: unknown signing key")

// publicKey returns the published key with kid, if its algorithm is alg.
func (k *Keyring) publicKey(kid, alg string) (crypto.PublicKey, error) {
	key, ok := k.current().byKID[kid]
	if !ok || key.alg != alg {
		return nil, errUnknownKey
	}
	return key.public, nil
}

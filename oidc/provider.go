package oidc

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/hmac"
	fositejwt "github.com/ory/fosite/token/jwt"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// Options configure the OpenID Provider.
type Options struct {
	// Issuer is the public issuer URL (OIDC Discovery §3); every endpoint
	// hangs off it.
	Issuer string
	// Secret is the key-encryption secret; the HMAC key for opaque tokens
	// and the pairwise-subject salt are derived from it (HKDF).
	Secret []byte
	// Lifetimes.
	AccessTokenTTL  time.Duration // default 1 h
	IDTokenTTL      time.Duration // default 1 h
	CodeTTL         time.Duration // default 2 min (RFC 6749 §4.1.2: short)
	RefreshTokenTTL time.Duration // default 30 days: a refresh token family's absolute lifetime
	// RefreshIdleTTL ends a family unused for that long (default 14 days):
	// each rotation issues a token living min(now + idle, absolute end).
	RefreshIdleTTL time.Duration
	FlowTTL        time.Duration // how long a sign-in may take, default 30 min
	// RefreshGrace is how long a rotated refresh token may still be
	// presented by a racing request and get the same new pair (default 5 s).
	RefreshGrace time.Duration
	// FailureLimit failed token, introspection or revocation requests from
	// one address within FailureWindow block it for a while (default 60 a
	// minute; a negative limit disables the block).
	FailureLimit  int
	FailureWindow time.Duration
	// Cookies are set with the issuer's scheme.
	Cookies web.Cookies
	Logger  *slog.Logger
	Now     func() time.Time
}

func (o *Options) defaults() error {
	if o.Issuer == "" || len(o.Secret) == 0 {
		return errors.New("oidc: issuer and secret are required")
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{
		{&o.AccessTokenTTL, time.Hour}, {&o.IDTokenTTL, time.Hour}, {&o.CodeTTL, 2 * time.Minute},
		{&o.RefreshTokenTTL, 30 * 24 * time.Hour}, {&o.RefreshIdleTTL, 14 * 24 * time.Hour},
		{&o.FlowTTL, 30 * time.Minute}, {&o.RefreshGrace, 5 * time.Second},
	} {
		if *d.p <= 0 {
			*d.p = d.def
		}
	}
	if o.FailureLimit == 0 {
		o.FailureLimit = 60
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Renderer renders Janua's own pages (errors, signed-out, form_post); cmd
// passes the templates-backed implementation.
type Renderer interface {
	Page(c echo.Context, status int, name, title string, data any) error
}

// Deps are the collaborators cmd/janua builds and passes in.
type Deps struct {
	Store   Store
	Hot     storage.HotState
	Keys    *Keyring
	Auth    Authenticator
	Consent ConsentGate
	Pages   Renderer
}

// Provider is the OpenID Provider: fosite composed with only the handlers
// Janua supports, plus the endpoints fosite lacks.
type Provider struct {
	opts        Options
	store       Store
	hot         storage.HotState
	keys        *Keyring
	auth        Authenticator
	consent     ConsentGate
	pages       Renderer
	oauth       *fosite.Fosite
	signer      *jwsSigner
	clients     *clientCache
	blocks      *blockList
	pairwiseKey []byte
	meta        metadata
}

// New composes the provider.
func New(opts Options, d Deps) (*Provider, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Hot == nil || d.Keys == nil || d.Auth == nil || d.Consent == nil || d.Pages == nil {
		return nil, errors.New("oidc: every dependency is required")
	}
	hmacKey, err := hkdf.Key(sha256.New, opts.Secret, []byte("janua oidc"), "opaque token hmac v1", 32)
	if err != nil {
		return nil, fmt.Errorf("oidc: derive token key: %w", err)
	}
	pairwiseKey, err := hkdf.Key(sha256.New, opts.Secret, []byte("janua oidc"), "pairwise subject v1", 32)
	if err != nil {
		return nil, fmt.Errorf("oidc: derive pairwise key: %w", err)
	}
	p := &Provider{
		opts: opts, store: d.Store, hot: d.Hot, keys: d.Keys, auth: d.Auth, consent: d.Consent, pages: d.Pages,
		signer:      &jwsSigner{keys: d.Keys, now: opts.Now, typ: "JWT"},
		pairwiseKey: pairwiseKey,
	}
	p.clients = newClientCache(d.Store, d.Hot, opts.Logger, time.Minute)
	p.blocks = newBlockList()
	if r, ok := d.Store.(interface{ ResolveClientsWith(storage.ClientResolver) }); ok {
		// Token reads take their client from the cache: one statement
		// without a join for every token the endpoints look up.
		r.ResolveClientsWith(p.clients.get)
	}

	cfg := &fositeConfig{Config: &fosite.Config{
		AccessTokenLifespan:            opts.AccessTokenTTL,
		RefreshTokenLifespan:           opts.RefreshTokenTTL,
		AuthorizeCodeLifespan:          opts.CodeTTL,
		IDTokenLifespan:                opts.IDTokenTTL,
		IDTokenIssuer:                  opts.Issuer,
		AccessTokenIssuer:              opts.Issuer,
		GlobalSecret:                   hmacKey,
		TokenEntropy:                   32,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       fosite.DefaultAudienceMatchingStrategy,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false, // RFC 9700 §2.1.1: S256 only
		ClientSecretsHasher:            secretHasher{},
		JWTScopeClaimKey:               fositejwt.JWTScopeFieldString, // RFC 9068 §2.2.3: space-delimited
		RedirectSecureChecker:          fosite.IsRedirectURISecureStrict,
		MinParameterEntropy:            fosite.MinParameterEntropy,
		SendDebugMessagesToClients:     false,
		AllowedPromptValues:            []string{"login", "none", "consent", "select_account"},
		// A refresh token only when offline_access was granted, which
		// takes consent (OIDC Core §11).
		RefreshTokenScopes:     []string{"offline_access"},
		OmitRedirectScopeParam: false,
	}, tokenURLs: []string{opts.Issuer + "/oauth2/token", opts.Issuer}}

	hmacStrategy := newPrefixedHMACStrategy(&hmac.HMACStrategy{Config: cfg}, cfg)
	jwtAccess := &oauth2.DefaultJWTStrategy{Signer: &jwsSigner{keys: d.Keys, now: opts.Now, typ: "at+jwt"}, HMACSHAStrategy: hmacStrategy, Config: cfg}
	strategy := &strategies{
		CoreStrategy:               &accessTokenFormats{prefixedHMAC: hmacStrategy, jwt: jwtAccess},
		OpenIDConnectTokenStrategy: &openid.DefaultStrategy{Signer: p.signer, Config: cfg},
		Signer:                     p.signer,
	}
	fstore := &fositeStore{Store: d.Store, clients: p.clients, hot: d.Hot}
	factories := []compose.Factory{
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2AuthorizeImplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectImplicitFactory,
		compose.OpenIDConnectHybridFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	}
	for _, f := range factories {
		res := f(cfg, fstore, strategy)
		if h, ok := res.(fosite.AuthorizeEndpointHandler); ok {
			cfg.AuthorizeEndpointHandlers.Append(h)
		}
		if h, ok := res.(fosite.TokenEndpointHandler); ok {
			cfg.TokenEndpointHandlers.Append(h)
		}
		if h, ok := res.(fosite.TokenIntrospector); ok {
			cfg.TokenIntrospectionHandlers.Append(h)
		}
		if h, ok := res.(fosite.RevocationHandler); ok {
			cfg.RevocationHandlers.Append(h)
		}
	}
	skipUnhandled(cfg.TokenEndpointHandlers)
	// Stateless client_credentials JWTs are introspected and revoked by
	// their claims (statelessjwt.go); every other token by its row.
	sj := &statelessJWT{verifier: jwtAccess.Signer.(*jwsSigner), clients: p.clients, store: d.Store, issuer: opts.Issuer}
	for i, h := range cfg.TokenIntrospectionHandlers {
		cfg.TokenIntrospectionHandlers[i] = &introspector{statelessJWT: sj, next: h}
	}
	for i, h := range cfg.RevocationHandlers {
		cfg.RevocationHandlers[i] = &revoker{statelessJWT: sj, next: h}
	}
	p.oauth = fosite.NewOAuth2Provider(fstore, cfg)
	cfg.ClientAuthenticationStrategy = p.authenticateClient
	p.meta = buildMetadata(opts.Issuer, d.Auth.ACRValues())
	return p, nil
}

// fositeConfig is fosite's configuration with the token URLs a client
// assertion's "aud" may name: the token endpoint or the issuer (RFC 7523
// §3, OIDC Core §9).
type fositeConfig struct {
	*fosite.Config
	tokenURLs []string
}

func (c *fositeConfig) GetTokenURLs(context.Context) []string { return c.tokenURLs }

// strategies is the one strategy value fosite's factories type-assert.
type strategies struct {
	oauth2.CoreStrategy
	openid.OpenIDConnectTokenStrategy
	fositejwt.Signer
}

// Run keeps caches fresh (client invalidations, key rotations) until ctx
// ends; cmd starts it once.
func (p *Provider) Run(ctx context.Context) {
	go p.keys.Watch(ctx, time.Minute)
	p.clients.watch(ctx)
	p.blocks.watch(ctx, p.hot, p.opts.Logger)
}

// Mount registers every endpoint on e.
func (p *Provider) Mount(e *echo.Echo) {
	p.routes(e)
}

// writeNoStore marks a response as never cacheable (RFC 6749 §5.1).
func writeNoStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

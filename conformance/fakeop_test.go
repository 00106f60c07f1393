package conformance

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// fakeOP is a crafted OpenID Provider: correct by default, wrong in exactly one way
// per mode, so each test proves the runner catches that one defect.
type fakeOP struct {
	srv  *httptest.Server
	key  *rsa.PrivateKey
	mode string
}

func newFakeOP(t *testing.T, ca *Authority, mode string) *fakeOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOP{key: key, mode: mode}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("/jwks", op.jwks)
	mux.HandleFunc("/authorize", op.authorize)
	mux.HandleFunc("/token", op.token)
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sub":"buffy"}`))
	})
	op.srv = httptest.NewUnstartedServer(mux)
	cert, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	op.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	op.srv.StartTLS()
	t.Cleanup(op.srv.Close)
	return op
}

func (op *fakeOP) issuer() string { return op.srv.URL }

func (op *fakeOP) discovery(w http.ResponseWriter, r *http.Request) {
	if op.mode == "no-discovery" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer": op.issuer(), "authorization_endpoint": op.issuer() + "/authorize", "token_endpoint": op.issuer() + "/token",
		"userinfo_endpoint": op.issuer() + "/userinfo", "jwks_uri": op.issuer() + "/jwks",
		"response_types_supported": []string{"code", "id_token token"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "scopes_supported": []string{"openid"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic"}, "claims_supported": []string{"sub"},
	})
}

func (op *fakeOP) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

func (op *fakeOP) idToken(nonce string, extra map[string]any) string {
	claims := map[string]any{"iss": op.issuer(), "sub": "buffy", "aud": "client", "exp": time.Now().Add(time.Hour).Unix(),
		"iat": time.Now().Unix(), "nonce": nonce}
	for k, v := range extra {
		claims[k] = v
	}
	payload, _ := json.Marshal(claims)
	if op.mode == "unsigned-id-token" {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: op.key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if op.mode == "wrong-key" {
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		signer, _ = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	}
	jws, _ := signer.Sign(payload)
	s, _ := jws.CompactSerialize()
	return s
}

// fakeCodes remembers the nonce per code.
var (
	fakeCodesMu sync.Mutex
	fakeCodes   = map[string]string{}
)

func (op *fakeOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	resp := url.Values{}
	if op.mode == "request-not-supported" && q.Has("request") {
		resp.Set("error", "request_not_supported")
		http.Redirect(w, r, redirect+"?"+resp.Encode(), http.StatusFound)
		return
	}
	if op.mode != "missing-state" {
		resp.Set("state", q.Get("state"))
	}
	iss := op.issuer()
	if op.mode == "wrong-iss" {
		iss = "https://evil.example"
	}
	resp.Set("iss", iss)
	if q.Get("response_type") == "id_token token" {
		at := "access-token-" + randomString(32)
		hash, _ := leftHalfHash("RS256", at)
		if op.mode == "forged-at-hash" {
			hash, _ = leftHalfHash("RS256", "another token")
		}
		resp.Set("access_token", at)
		resp.Set("token_type", "Bearer")
		resp.Set("id_token", op.idToken(q.Get("nonce"), map[string]any{"at_hash": hash}))
		http.Redirect(w, r, redirect+"#"+resp.Encode(), http.StatusFound)
		return
	}
	code := randomString(43)
	if op.mode == "low-entropy-code" {
		code = "aaaaaaaaaaaaaaaaaaaaaaaa"
	}
	fakeCodesMu.Lock()
	fakeCodes[code] = q.Get("nonce")
	fakeCodesMu.Unlock()
	resp.Set("code", code)
	http.Redirect(w, r, redirect+"?"+resp.Encode(), http.StatusFound)
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	if op.mode != "no-cache-control" {
		w.Header().Set("Cache-Control", "no-store")
	}
	fakeCodesMu.Lock()
	nonce := fakeCodes[r.PostForm.Get("code")]
	fakeCodesMu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + randomString(40), "token_type": "Bearer", "expires_in": 3600,
		"id_token": op.idToken(nonce, nil)})
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runModule runs one module against a fake OP in the given mode.
func runModule(t *testing.T, mode string, m *Module, responseType string) ModuleResult {
	t.Helper()
	rep, err := runFake(t, mode, m, responseType)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep.Plans[0].Modules[0]
}

func runFake(t *testing.T, mode string, m *Module, responseType string) (*Report, error) {
	t.Helper()
	ca, err := NewAuthority()
	if err != nil {
		t.Fatal(err)
	}
	op := newFakeOP(t, ca, mode)
	base := "https://" + freePort(t)
	cfg := &Config{}
	cfg.Server.DiscoveryURL = op.issuer() + wellKnown
	cfg.Client = ClientConfig{ClientID: "client", ClientSecret: "secret"}
	cfg.Client2 = ClientConfig{ClientID: "client2", ClientSecret: "secret2"}
	cfg.ClientSecretPost = ClientConfig{ClientID: "post", ClientSecret: "secret3"}
	cfg.User.Username, cfg.User.Password = "buffy", "pw"
	cfg.Runner.BaseURL, cfg.Runner.RedirectURI, cfg.Runner.PostLogoutRedirectURI = base, base+"/callback", base+"/post_logout_redirect"
	plan := &Plan{Name: "test-plan", Entries: []Entry{{Variant: variant(responseType, "client_secret_basic", "default"), Modules: []*Module{m}}}}
	return Execute(context.Background(), Options{Config: cfg, Roots: ca.Pool(), Authority: ca, Plans: []*Plan{plan},
		OutDir: t.TempDir(), Concurrency: 1, WaitReady: 5 * time.Second})
}

// An OP without a discovery document (Janua before its OIDC endpoints) fails the run
// at once and says why; it neither hangs nor passes.
func TestMissingDiscoveryFailsClearly(t *testing.T) {
	start := time.Now()
	rep, err := runFake(t, "no-discovery", oidccServer, "code")
	if err == nil || !strings.Contains(err.Error(), "returned HTTP 404") {
		t.Fatalf("err = %v, want a 404 failure", err)
	}
	if !rep.Failed() || !strings.HasPrefix(rep.Fatal, "FAILED: discovery document") {
		t.Fatalf("report fatal %q", rep.Fatal)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %s: a 404 must fail at once", time.Since(start))
	}
}

func TestRunnerCatchesCraftedDefects(t *testing.T) {
	cases := []struct {
		mode, responseType string
		module             *Module
		want               Result
		condition          string
	}{
		{"good", "code", oidccServer, Passed, ""},
		{"good", "id_token token", oidccServer, Passed, ""},
		{"forged-at-hash", "id_token token", oidccServer, Failed, "ValidateAtHash"},
		{"wrong-iss", "code", oidccServer, Failed, "ValidateIssIfPresentInAuthorizationResponse"},
		{"missing-state", "code", oidccServer, Failed, "CheckStateInAuthorizationResponse"},
		{"unsigned-id-token", "code", oidccServer, Failed, "ValidateIdTokenSignature"},
		{"wrong-key", "code", oidccServer, Failed, "ValidateIdTokenSignatureUsingKid"},
		{"low-entropy-code", "code", oidccServer, Failed, "EnsureMinimumAuthorizationCodeEntropy"},
		{"no-cache-control", "code", oidccServer, Failed, "CheckTokenEndpointCacheHeaders"},
		// The fake OP redirects to whatever redirect_uri it gets: an unregistered one too.
		{"good", "code", oidccRegisteredRedirectURI, Failed, "EnsureNoRedirect"},
		// It ignores request objects: state was only inside the object, so it is missing.
		{"good", "code", oidccUnsignedRequestObject, Failed, "CheckStateInAuthorizationResponse"},
		{"request-not-supported", "code", oidccUnsignedRequestObject, Skipped, ""},
		// An error redirect for a missing nonce in the implicit flow passes (R? without a page).
		{"good", "id_token token", oidccNoNonceFails, Failed, "CheckErrorFromAuthorizationEndpointErrorInvalidRequest"},
	}
	for _, c := range cases {
		t.Run(c.mode+"/"+c.module.Name+"/"+strings.ReplaceAll(c.responseType, " ", "_"), func(t *testing.T) {
			res := runModule(t, c.mode, c.module, c.responseType)
			if res.Result != c.want {
				t.Fatalf("result %s, want %s; failures %v", res.Result, c.want, res.Failures)
			}
			if c.condition != "" && !containsPrefix(res.Failures, c.condition+":") {
				t.Fatalf("failures %v do not include %s", res.Failures, c.condition)
			}
		})
	}
}

func containsPrefix(list []string, p string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestFormPostChecks(t *testing.T) {
	cfg := &Config{}
	cfg.Runner.BaseURL = "https://127.0.0.1:1"
	run, _ := NewRun(cfg, nil, t.TempDir(), "")
	cases := []struct {
		hit  CallbackHit
		fail string
	}{
		{CallbackHit{Method: "POST", ContentType: "application/x-www-form-urlencoded", Path: "/callback"}, ""},
		{CallbackHit{Method: "GET", ContentType: "", Path: "/callback"}, "CheckCallbackHttpMethodIsPost"},
		{CallbackHit{Method: "POST", ContentType: "text/plain", Path: "/callback"}, "CheckCallbackContentTypeIsFormUrlEncoded"},
		{CallbackHit{Method: "POST", ContentType: "application/x-www-form-urlencoded", Path: "/callback", Query: url.Values{"code": {"x"}}}, "RejectAuthCodeInUrlQuery"},
	}
	for i, c := range cases {
		tt := &T{ctx: context.Background(), run: run, Module: &Module{Name: "m"}}
		res := tt.execute(func(tt *T) { tt.checkFormPost(&c.hit) })
		if c.fail == "" && res.Result != Passed || c.fail != "" && !containsPrefix(res.Failures, c.fail+":") {
			t.Errorf("case %d: result %s failures %v, want %q", i, res.Result, res.Failures, c.fail)
		}
	}
}

func TestHashAndEntropy(t *testing.T) {
	// OpenID Connect Core 1.0 §A.4's example: c_hash of its code.
	got, err := leftHalfHash("RS256", "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk")
	if err != nil || got != "LDktKdoQak3Pk0cnXxCltA" {
		t.Fatalf("c_hash = %q, %v", got, err)
	}
	if checkEntropy("code", "BjnQbTsQiUYitDvHY9Ork6twLS2Ps_7ZZGlNfyx2FRo") != nil {
		t.Error("a random 43-character code must pass")
	}
	if checkEntropy("code", strings.Repeat("ab", 20)) == nil || checkLength("code", "short") == nil {
		t.Error("a repetitive or short code must fail")
	}
	if err := checkState(url.Values{}, "abc"); err == nil {
		t.Error("missing state must fail")
	}
	if err := checkIss(url.Values{"iss": {"https://other"}}, "https://op"); err == nil {
		t.Error("wrong iss must fail")
	}
	if err := noStore(http.Header{"Cache-Control": {"no-cache"}}); err == nil {
		t.Error("Cache-Control without no-store must fail")
	}
}

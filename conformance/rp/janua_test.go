package rp

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// janua is a Janua server built from this tree, on a fresh SQLite data dir,
// provisioned with its CLI as an operator would: one user and one client.
type janua struct {
	issuer string
	proc   *process
	meta   metadata
}

// metadata is the part of Janua's discovery document the test reads: what
// an operator copies from it into a relying party's configuration.
type metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
}

// user is the person signing in; client is the registered relying party.
type user struct{ email, password, name string }

type client struct{ id, secret string }

// startJanua provisions Janua (migrate, users create, clients create with
// the given redirect and post-logout URIs) and serves it on port.
func startJanua(t *testing.T, bin string, port int, u user, redirects, postLogout []string) (*janua, client) {
	t.Helper()
	issuer := "http://127.0.0.1:" + itoa(port)
	env := cleanEnv(
		"JANUA_ENV=development",
		"JANUA_DATA_DIR="+filepath.Join(t.TempDir(), "data"),
		"JANUA_ISSUER="+issuer,
		"JANUA_HTTP_ADDR=127.0.0.1:"+itoa(port),
		"JANUA_SECRET="+randomHex(32),
		"JANUA_LOG_FORMAT=json",
	)
	cli := func(args ...string) []byte {
		t.Helper()
		out, err := run(time.Minute, ".", env, bin, args...)
		if err != nil {
			t.Fatalf("janua CLI: %v", err)
		}
		return out
	}
	cli("migrate")
	claims, _ := json.Marshal(map[string]string{"name": u.name, "preferred_username": strings.Split(u.email, "@")[0]})
	cli("users", "create", "--email", u.email, "--password", u.password, "--email-verified", "--claims", string(claims), "--output", "json")
	args := []string{"clients", "create", "--name", "Sunnydale intranet (oauth2-proxy)",
		"--grant-type", "authorization_code", "--grant-type", "refresh_token",
		"--scope", "openid email profile offline_access", "--output", "json"}
	for _, r := range redirects {
		args = append(args, "--redirect-uri", r)
	}
	for _, r := range postLogout {
		args = append(args, "--post-logout-redirect-uri", r)
	}
	var created struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if out := cli(args...); json.Unmarshal(out, &created) != nil || created.ID == "" || created.Secret == "" {
		t.Fatalf("janua clients create printed no client_id and client_secret: %s", out)
	}

	j := &janua{issuer: issuer, proc: startProcess(t, "janua", bin, []string{"serve"}, env)}
	j.proc.waitReady(t, issuer+"/health/ready")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&j.meta) != nil || j.meta.Issuer != issuer {
		t.Fatalf("discovery: status %d, issuer %q (want %q)", resp.StatusCode, j.meta.Issuer, issuer)
	}
	for name, v := range map[string]string{"authorization": j.meta.AuthorizationEndpoint, "token": j.meta.TokenEndpoint,
		"introspection": j.meta.IntrospectionEndpoint, "end_session": j.meta.EndSessionEndpoint} {
		if v == "" {
			t.Fatalf("discovery names no %s endpoint", name)
		}
	}
	return j, client{id: created.ID, secret: created.Secret}
}

// owns says the URL is one of Janua's.
func (j *janua) owns(u *url.URL) bool { return u.Scheme+"://"+u.Host == j.issuer }

// is says the URL is the endpoint, whatever its query.
func is(u *url.URL, endpoint string) bool {
	e, err := url.Parse(endpoint)
	return err == nil && u.Scheme == e.Scheme && u.Host == e.Host && u.Path == e.Path
}

// requests counts the access-log lines of requests Janua answered with
// method, path and status.
func (j *janua) requests(method, path string, status int) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(j.proc.output()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg, Method, Path string
			Status            int
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "request" &&
			line.Method == method && line.Path == path && line.Status == status {
			n++
		}
	}
	return n
}

// introspect asks Janua whether an access token is active (RFC 7662), as
// the client.
func (j *janua) introspect(t *testing.T, c client, token string) (active bool, clientID string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, j.meta.IntrospectionEndpoint, strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("introspection: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Active   bool   `json:"active"`
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("introspection answered %d", resp.StatusCode)
	}
	return out.Active, out.ClientID
}

// claims decodes a JWT's payload without verifying it (oauth2-proxy did).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err != nil || json.Unmarshal(payload, &c) != nil {
		t.Fatalf("unreadable JWT payload: %.80q", parts[1])
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

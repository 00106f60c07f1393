package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/madfam-org/janua/oidc"
)

// Repeated failures at the token endpoint block the address (RFC 9700
// §4.18: brute-force protection) on every instance sharing the hot state:
// at once on the one that counted the last failure, through the broadcast
// on the other, at the token, introspection and revocation endpoints, with
// 429 and Retry-After (RFC 6585 §4). Successes never count.
func TestE2ETokenFailuresBlockTheAddress(t *testing.T) {
	t.Parallel()
	limit := func(c *Config) { c.Tokens.FailureLimit, c.Tokens.FailureWindow = 3, time.Minute }
	eachBackend(t, limit, func(t *testing.T, a *op) {
		b := discover(t, &op{interactionServer: newInteractionServer(t, serverOptions{hot: a.hot,
			config: func(c *Config) { limit(c); c.Database.URL = a.cfg.Database.URL }}), email: a.email, userID: a.userID})
		c := a.register(t, oidc.ClientSpec{GrantTypes: []string{"client_credentials"}, ResponseTypes: []string{}})
		grant := url.Values{"grant_type": {"client_credentials"}}
		for range 5 { // successes do not count
			if st, body := a.post(t, pathToken, grant, c.ID, c.Secret); st != http.StatusOK {
				t.Fatalf("client_credentials: %d %v", st, body)
			}
		}
		for i := range 4 {
			if st, body := a.post(t, pathToken, grant, c.ID, "wrong"); st != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d %v", i+1, st, body)
			}
		}
		blocked := func(o *op, path string, form url.Values) bool {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, o.issuer+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(c.ID, c.Secret)
			res, err := o.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
				t.Fatalf("%s: 429 without Retry-After", path)
			}
			return res.StatusCode == http.StatusTooManyRequests
		}
		for _, path := range []string{pathToken, pathIntrospect, pathRevoke} {
			if !blocked(a, path, url.Values{"grant_type": {"client_credentials"}, "token": {"x"}}) {
				t.Fatalf("%s: the address is not blocked at the instance that counted its failures", path)
			}
		}
		deadline := time.Now().Add(2 * time.Second)
		for !blocked(b, pathToken, grant) {
			if time.Now().After(deadline) {
				t.Fatal("the other instance does not block the address 2 s later")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

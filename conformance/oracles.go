package conformance

import (
	"context"
	"net/http"
	"net/url"
)

// Oracle is an independent, OpenID-certified relying party that runs the happy flows
// (code flow with PKCE, userinfo, refresh, RP-Initiated Logout) against the same OP
// while the runner's callback server is up. A disagreement between an oracle and the
// runner's verdicts is a runner bug to fix (or an OP bug the runner missed).
type Oracle struct {
	Name string
	Run  func(ctx context.Context, b *Browser) OracleRun
}

// Browser is what an oracle gets from the run: fresh user agents, the run's HTTP
// client and configuration, and the runner's report so far to compare with.
type Browser struct {
	run    *Run
	server map[string]any
	Report *Report
}

// Config is the run's configuration.
func (b *Browser) Config() *Config { return b.run.cfg }

// HTTPClient is the relying party's back-channel client (trusting the run's CA).
func (b *Browser) HTTPClient() *http.Client {
	c := *b.run.http
	c.CheckRedirect = nil
	return &c
}

// Discovery is the OP's discovery document.
func (b *Browser) Discovery() map[string]any { return b.server }

// NewUserAgent is a fresh browser for the oracle's flows.
func (b *Browser) NewUserAgent() *UserAgent {
	t := &T{run: b.run, server: b.server}
	return t.newUserAgent()
}

// Verdict returns the runner's result for a module in a plan with a response type
// ("" when it did not run).
func (b *Browser) Verdict(plan, module, responseType string) Result {
	for _, p := range b.Report.Plans {
		if p.Name != plan {
			continue
		}
		for _, m := range p.Modules {
			if m.Module == module && m.Variant.ResponseType == responseType {
				return m.Result
			}
		}
	}
	return ""
}

// LoggedOut asks the OP, with prompt=none in ua's session, whether the user is still
// logged in; it returns the error the OP redirected with ("" for a successful
// authorization, which means the session survived).
func (b *Browser) LoggedOut(ctx context.Context, ua *UserAgent) (string, error) {
	ep, _ := b.server["authorization_endpoint"].(string)
	u, err := url.Parse(ep)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("client_id", b.run.cfg.Client.ClientID)
	q.Set("redirect_uri", b.run.cfg.Runner.RedirectURI)
	q.Set("response_type", "code")
	q.Set("scope", "openid")
	q.Set("prompt", "none")
	q.Set("state", randomString(16))
	u.RawQuery = q.Encode()
	v, err := ua.Get(ctx, u.String(), NavOptions{NoInteraction: true})
	if err != nil {
		return "", err
	}
	if v.Callback == nil {
		return "no redirect", nil
	}
	return v.Callback.Query.Get("error"), nil
}

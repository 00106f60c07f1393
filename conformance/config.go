package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Config is the runner's configuration, modelled on the OpenID suite's test plan
// configuration JSON ("server.discoveryUrl", "client.client_id", "client2.*",
// "client_secret_post.*"), plus the test user the browser logs in as and the
// relying-party URLs the runner serves itself.
type Config struct {
	Alias       string `json:"alias,omitempty"`
	Description string `json:"description,omitempty"`
	Server      struct {
		DiscoveryURL string `json:"discoveryUrl"`
		// LoginHint overrides the suite's default "buffy@<issuer host>" (OIDCCLoginHint).
		LoginHint string `json:"login_hint,omitempty"`
		// UILocales overrides the suite's default "se" (OIDCCUiLocales).
		UILocales string `json:"ui_locales,omitempty"`
	} `json:"server"`
	// Client is the suite's "client": client_secret_basic, every module's default.
	Client ClientConfig `json:"client"`
	// Client2 is the suite's "client2": the second client of the multiple-client
	// modules (oidcc-refresh-token).
	Client2 ClientConfig `json:"client2"`
	// ClientSecretPost is the suite's "client_secret_post" static client
	// (oidcc-server-client-secret-post with static_client).
	ClientSecretPost ClientConfig `json:"client_secret_post"`
	User             struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"user"`
	Runner struct {
		// BaseURL is where the runner serves its relying-party endpoints (the suite's
		// base_url); it must be an https URL on this machine with a fixed port, so
		// the redirect URIs below can be registered with the OP in advance.
		BaseURL               string `json:"base_url"`
		RedirectURI           string `json:"redirect_uri"`
		PostLogoutRedirectURI string `json:"post_logout_redirect_uri"`
	} `json:"runner"`
}

// ClientConfig is one static client.
type ClientConfig struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// AuthMethod is the token endpoint authentication the runner uses with this
	// client; empty means the plan variant decides.
	AuthMethod string `json:"token_endpoint_auth_method,omitempty"`
}

// LoadConfig reads and validates a configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	need := func(v, name string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	need(c.Server.DiscoveryURL, "server.discoveryUrl")
	need(c.Client.ClientID, "client.client_id")
	need(c.Client.ClientSecret, "client.client_secret")
	need(c.Client2.ClientID, "client2.client_id")
	need(c.Client2.ClientSecret, "client2.client_secret")
	need(c.ClientSecretPost.ClientID, "client_secret_post.client_id")
	need(c.ClientSecretPost.ClientSecret, "client_secret_post.client_secret")
	need(c.User.Username, "user.username")
	need(c.User.Password, "user.password")
	for name, v := range map[string]string{
		"runner.base_url":                 c.Runner.BaseURL,
		"runner.redirect_uri":             c.Runner.RedirectURI,
		"runner.post_logout_redirect_uri": c.Runner.PostLogoutRedirectURI,
	} {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an https URL, got %q", name, v))
		}
	}
	if !strings.HasPrefix(c.Runner.RedirectURI, strings.TrimSuffix(c.Runner.BaseURL, "/")+"/") ||
		!strings.HasPrefix(c.Runner.PostLogoutRedirectURI, strings.TrimSuffix(c.Runner.BaseURL, "/")+"/") {
		errs = append(errs, errors.New("runner.redirect_uri and runner.post_logout_redirect_uri must be under runner.base_url"))
	}
	return errors.Join(errs...)
}

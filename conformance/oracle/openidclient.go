package oracle

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/madfam-org/janua/conformance"
)

// openidClient runs conformance/reference/oracle.mjs (panva's openid-client 6) and
// plays its browser.
func openidClient(ctx context.Context, b *conformance.Browser, nodeDir, caFile string) conformance.OracleRun {
	o := &outcome{}
	cfg := b.Config()
	arg, _ := json.Marshal(map[string]string{
		"discoveryUrl": cfg.Server.DiscoveryURL, "client_id": cfg.Client.ClientID, "client_secret": cfg.Client.ClientSecret,
		"redirect_uri": cfg.Runner.RedirectURI, "post_logout_redirect_uri": cfg.Runner.PostLogoutRedirectURI,
	})
	script, _ := filepath.Abs(filepath.Join(nodeDir, "oracle.mjs"))
	cmd := exec.CommandContext(ctx, "node", script, string(arg))
	cmd.Dir = nodeDir
	ca, _ := filepath.Abs(caFile)
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		o.fail("authorize", fmt.Errorf("node: %w", err))
		return compare(b, o)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	ua := b.NewUserAgent()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	pending := "authorize"
	for lines.Scan() {
		var msg struct {
			Step  string `json:"step"`
			URL   string `json:"url"`
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(lines.Bytes(), &msg); err != nil {
			continue
		}
		switch msg.Step {
		case "authorize", "logout":
			pending = msg.Step
			v, err := ua.Get(ctx, msg.URL, conformance.NavOptions{})
			if err == nil && v.Callback == nil {
				err = fmt.Errorf("the OP did not redirect back to the client (%s)", msg.Step)
			}
			if err != nil {
				o.fail(msg.Step, err)
				return compare(b, o)
			}
			if msg.Step == "authorize" {
				o.ok("authorize")
				pending = "token"
			}
			reply, _ := json.Marshal(map[string]string{"callback": v.Callback.URL})
			if _, err := io.WriteString(stdin, string(reply)+"\n"); err != nil {
				o.fail(msg.Step, err)
				return compare(b, o)
			}
		case "token", "userinfo", "refresh":
			o.ok(msg.Step)
			pending = map[string]string{"token": "userinfo", "userinfo": "refresh", "refresh": "logout"}[msg.Step]
		case "done":
			o.ok("logout")
			loggedOut(ctx, b, ua, o)
			return compare(b, o)
		case "error":
			o.fail(pending, errors.New(msg.Error))
			return compare(b, o)
		}
	}
	o.fail(pending, fmt.Errorf("openid-client oracle ended early: %s", strings.TrimSpace(lastLines(stderr.String()))))
	return compare(b, o)
}

func lastLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > 3 {
		l = l[len(l)-3:]
	}
	return strings.Join(l, " | ")
}

func randomish() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package main

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/madfam-org/janua/login"
	"github.com/madfam-org/janua/oidc"
	"github.com/madfam-org/janua/storage/storagetest"
)

// Asking for a sign-in link answers the same page, status and, within a
// tight bound, time whether or not the address has an account: an unknown
// address costs the same database work (a token row nobody can use) and
// only the message is missing. The medians of 30 interleaved tries each
// must be within 20 % of each other. The backends run one after the other:
// running them together would only add noise.
func TestEmailSignInDoesNotEnumerate(t *testing.T) {
	const tries, bound = 30, 0.20
	varying := regexp.MustCompile(`name="id" value="[^"]*"|Reference: [0-9a-f]+`)
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			mc := newMailCatcher(t)
			s := newInteractionServer(t, serverOptions{backend: b, hot: redisHot(t, b), config: func(c *Config) {
				mc.configure(c)
				c.Login.EmailSendLimit, c.Login.EmailIPSendLimit = 10000, 10000
			}})
			s.user("ana@example.com", false)
			br := s.browser()
			br.get(oidc.LoginPath)
			send := func(email string) (time.Duration, string) {
				t.Helper()
				start := time.Now()
				res := br.submit(login.EmailSignInPath, url.Values{"email": {email}})
				took := time.Since(start)
				wantStatus(t, res, http.StatusOK, br.page)
				return took, varying.ReplaceAllString(strings.ReplaceAll(br.page, email, "EMAIL"), "")
			}
			for range 5 { // warm up both paths
				send("ana@example.com")
				mc.next(t, "ana@example.com", kindMagicLink)
				send("nobody@example.com")
			}
			// A shared machine's pauses can skew one measurement: the
			// medians must agree in one of three.
			measure := func() (mk, mu time.Duration, pages []string) {
				var known, unknown []time.Duration
				for range tries {
					for _, k := range rand.Perm(2) {
						if k == 0 {
							d, p := send("ana@example.com")
							known, pages = append(known, d), append(pages, p)
							// Let the delivery of its message end before the next request.
							mc.next(t, "ana@example.com", kindMagicLink)
						} else {
							d, p := send("nobody@example.com")
							unknown, pages = append(unknown, d), append(pages, p)
						}
					}
				}
				return median(known), median(unknown), pages
			}
			measured := 0
			for try := 1; ; try++ {
				mk, mu, pages := measure()
				measured = try
				for _, p := range pages[1:] {
					if p != pages[0] {
						t.Fatalf("the pages differ:\n%s\n---\n%s", pages[0], p)
					}
				}
				diff := float64(max(mk, mu)-min(mk, mu)) / float64(min(mk, mu))
				t.Logf("try %d: median known %v, unknown %v: %.1f %% apart", try, mk, mu, 100*diff)
				if diff <= bound {
					break
				}
				if try == 3 {
					t.Fatalf("median response times %v (account) and %v (no account) differ by %.0f %%, more than %.0f %%", mk, mu, 100*diff, 100*bound)
				}
			}
			if n, sent := mc.count(kindMagicLink), 5+measured*tries; n > sent {
				t.Fatalf("%d messages for %d requests for the known address", n, sent)
			}
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

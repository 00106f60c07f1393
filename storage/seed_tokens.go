package storage

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ory/fosite"
)

// SeedGrants describes the token rows of SeedTokens: grant after grant, the
// row of its access token and then the row of its refresh token, as the
// token endpoint stores a grant that issues both.
type SeedGrants struct {
	// Rows is how many rows to write; when odd, the last grant has only its
	// access token.
	Rows int
	// Grant names grant i's client and subject (i counts from 0).
	Grant func(i int) (clientID, subject string)
	// Request is the request fosite hands to CreateAccessTokenSession and
	// CreateRefreshTokenSession for a grant of clientID to subject. Grants
	// may differ by nothing else: SeedTokens encodes one request, with
	// placeholders for the two, and fills them in per grant (encoding a
	// session per row would cost more than the database's work). It checks
	// that against the server's own encoding of the first grant. The
	// request's ID is not used: each grant gets a new random one, as fosite
	// gives it, and each token a random signature.
	Request func(clientID, subject string) fosite.Requester
}

// SeedTokens inserts g's token rows in one transaction; a taken signature is
// ErrAlreadyExists and an unknown client a foreign-key error.
func (s *Store) SeedTokens(ctx context.Context, g SeedGrants) error {
	if g.Rows <= 0 {
		return nil
	}
	now := s.now()
	tpl, err := newTokenTemplate(g.Request, now)
	if err != nil {
		return fmt.Errorf("storage: seed tokens: %w", err)
	}
	client, subject := g.Grant(0)
	if err := tpl.check(g.Request(client, subject), client, subject, now); err != nil {
		return fmt.Errorf("storage: seed tokens: %w", err)
	}
	random := bufio.NewReaderSize(rand.Reader, 64<<10)
	// The request ID and access token key of the grant being written: its
	// refresh row, next, repeats them.
	var requestID, access string
	table := seedTable{
		name: "oauth2_sessions",
		cols: oauth2Columns,
		n:    g.Rows,
		row: func(i int) ([]any, error) {
			client, subject := g.Grant(i / 2)
			sig, err := randomKey(random)
			if err != nil {
				return nil, err
			}
			if i%2 == 1 {
				return tpl.refresh.fill(sig, requestID, access, client, subject), nil
			}
			id, err := uuid.NewRandomFromReader(random)
			if err != nil {
				return nil, fmt.Errorf("request id: %w", err)
			}
			requestID, access = id.String(), sig
			return tpl.access.fill(sig, requestID, "", client, subject), nil
		},
	}
	if err := s.seedWrite(ctx, []seedTable{table}); err != nil {
		return oauth2Error("seed tokens", err)
	}
	return nil
}

// randomKey is the row key of a random token: fosite's HMAC signatures are
// 32 bytes, base64url-encoded, and rowKey hashes them.
func randomKey(r io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("random signature: %w", err)
	}
	return rowKey(base64.RawURLEncoding.EncodeToString(b[:])), nil
}

// oauth2Columns are the columns of oauth2_sessions in the order of
// oauth2Session's fields, which oauth2Session.values follows.
var oauth2Columns = []string{"kind", "signature", "request_id", "client_id", "subject", "requested_at", "expires_at", "active",
	"scopes", "granted_scopes", "requested_audience", "granted_audience", "form", "session", "access_signature", "rotated_at"}

// Indexes of oauth2Columns: the keys and request ID, which differ between
// the rows of one template, and the JSON columns, first to last.
const (
	colSignature       = 1
	colRequestID       = 2
	colFirstJSON       = 8
	colLastJSON        = 13
	colAccessSignature = 14
)

// values is the row as gorm binds it (its JSON columns as its serializer
// encodes them).
func (r *oauth2Session) values() ([]any, error) {
	row := []any{r.Kind, r.Signature, r.RequestID, r.ClientID, r.Subject, r.RequestedAt, r.ExpiresAt, r.Active}
	for _, v := range []any{r.Scopes, r.GrantedScopes, r.RequestedAudience, r.GrantedAudience, r.Form} {
		j, err := jsonColumn(v)
		if err != nil {
			return nil, err
		}
		row = append(row, j)
	}
	return append(row, r.Session, r.AccessSignature, timeColumn(r.RotatedAt)), nil
}

// Placeholders of the client ID and the subject in a token template: plain
// ASCII, so that JSON encodes them as they are, and no real value.
const (
	seedClientHole  = "janua-seed-client-2c5f0d91e7"
	seedSubjectHole = "janua-seed-subject-2c5f0d91e7"
)

// tokenTemplate is the access and refresh rows of a grant with placeholders.
type tokenTemplate struct {
	access, refresh rowTemplate
}

// newTokenTemplate encodes request(placeholders) as newOAuth2Row does.
func newTokenTemplate(request func(clientID, subject string) fosite.Requester, now time.Time) (*tokenTemplate, error) {
	req := request(seedClientHole, seedSubjectHole)
	var tpl tokenTemplate
	for _, r := range []struct {
		into   *rowTemplate
		kind   oauth2Kind
		access string
	}{{&tpl.access, kindAccess, ""}, {&tpl.refresh, kindRefresh, "x"}} {
		row, err := newOAuth2Row(r.kind, "x", r.access, req, now)
		if err != nil {
			return nil, err
		}
		if *r.into, err = newRowTemplate(&row); err != nil {
			return nil, err
		}
	}
	return &tpl, nil
}

// check compares the rows the template fills for clientID and subject with
// what the server writes for req: every column but the keys and the request
// ID must be equal.
func (t *tokenTemplate) check(req fosite.Requester, clientID, subject string, now time.Time) error {
	for _, c := range []struct {
		tpl    *rowTemplate
		kind   oauth2Kind
		access string
	}{{&t.access, kindAccess, ""}, {&t.refresh, kindRefresh, "x"}} {
		row, err := newOAuth2Row(c.kind, "x", c.access, req, now)
		if err != nil {
			return err
		}
		want, err := row.values()
		if err != nil {
			return err
		}
		got := c.tpl.fill(row.Signature, row.RequestID, row.AccessSignature, clientID, subject)
		for i := range want {
			if !sameValue(got[i], want[i]) {
				return fmt.Errorf("the %s rows of grants differ by more than client and subject: %s is %v, the template gives %v",
					c.kind, oauth2Columns[i], want[i], got[i])
			}
		}
	}
	return nil
}

// sameValue compares two bound values (times by instant and location).
func sameValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb) && ta.Location() == tb.Location()
	}
	return a == b
}

// rowTemplate is a row's values with placeholders in some of its strings.
type rowTemplate struct {
	values []any
	// holes are the columns with placeholders, split at them.
	holes map[int]splitString
}

// splitString is a string cut at the placeholders: parts[0], placeholder
// clients[0] (true: the client ID, false: the subject), parts[1], ….
type splitString struct {
	parts   []string
	clients []bool
	json    bool // the string is JSON: values go in escaped
}

func newRowTemplate(r *oauth2Session) (rowTemplate, error) {
	vals, err := r.values()
	if err != nil {
		return rowTemplate{}, err
	}
	t := rowTemplate{values: vals, holes: map[int]splitString{}}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok || i == colSignature || i == colRequestID || i == colAccessSignature {
			continue
		}
		if sp, ok := split(str, i >= colFirstJSON && i <= colLastJSON); ok {
			t.holes[i] = sp
		}
	}
	return t, nil
}

// split cuts s at the placeholders; ok is false when s has none.
func split(s string, isJSON bool) (sp splitString, ok bool) {
	sp.json = isJSON
	for {
		ci, si := strings.Index(s, seedClientHole), strings.Index(s, seedSubjectHole)
		switch {
		case ci < 0 && si < 0:
			sp.parts = append(sp.parts, s)
			return sp, len(sp.clients) > 0
		case si < 0 || (ci >= 0 && ci < si):
			sp.parts, sp.clients, s = append(sp.parts, s[:ci]), append(sp.clients, true), s[ci+len(seedClientHole):]
		default:
			sp.parts, sp.clients, s = append(sp.parts, s[:si]), append(sp.clients, false), s[si+len(seedSubjectHole):]
		}
	}
}

// fill is the template's row for a grant of clientID to subject with
// request ID requestID, keyed by signature (a rowKey) and, for a refresh
// row, beside accessSignature (the rowKey of the grant's access token).
func (t *rowTemplate) fill(signature, requestID, accessSignature, clientID, subject string) []any {
	row := make([]any, len(t.values))
	copy(row, t.values)
	row[colSignature], row[colRequestID], row[colAccessSignature] = signature, requestID, accessSignature
	for i, sp := range t.holes {
		if sp.json {
			row[i] = sp.join(jsonEscape(clientID), jsonEscape(subject))
		} else {
			row[i] = sp.join(clientID, subject)
		}
	}
	return row
}

func (sp splitString) join(client, subject string) string {
	n := 0
	for _, p := range sp.parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n + len(sp.clients)*max(len(client), len(subject)))
	for i, p := range sp.parts {
		b.WriteString(p)
		if i < len(sp.clients) {
			if sp.clients[i] {
				b.WriteString(client)
			} else {
				b.WriteString(subject)
			}
		}
	}
	return b.String()
}

// jsonEscape is s as encoding/json writes it inside a string, without the
// quotes: s itself when nothing needs escaping (the seeded IDs).
func jsonEscape(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return string(b[1 : len(b)-1])
		}
	}
	return s
}

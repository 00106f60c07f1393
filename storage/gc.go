package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// GCOptions tune garbage collection.
type GCOptions struct {
	// AuditRetention is how long audit events are kept; zero keeps them forever.
	AuditRetention time.Duration
	// MailRetention is how long sent and dead outbox messages are kept
	// (default DefaultMailRetention; their links and codes are already gone).
	MailRetention time.Duration
	// BatchSize bounds each DELETE so a large backlog never holds a long lock
	// (default 1000).
	BatchSize int
}

// DefaultMailRetention is how long finished outbox messages are kept when
// GCOptions.MailRetention is zero.
const DefaultMailRetention = 7 * 24 * time.Hour

// GCResult counts the rows each garbage-collection target deleted.
type GCResult map[string]int64

// gcTarget is one table whose expired rows are deleted. Later features add
// their token and flow tables here, so nothing grows without bound.
type gcTarget struct {
	name  string
	table string
	// key lists the columns that identify a row ("" means id).
	key string
	// where selects expired rows; its one parameter is the cut-off time.
	where string
	// cutoff derives the parameter from now; nil means now itself.
	cutoff func(now time.Time, o GCOptions) (time.Time, bool)
}

// gcTargets lists every table garbage collection sweeps.
func gcTargets() []gcTarget {
	return []gcTarget{
		{
			name:  "browser_sessions",
			table: "browser_sessions",
			where: "expires_at < @t OR idle_expires_at < @t OR revoked_at < @t",
		},
		{
			name:  "flows",
			table: "flows",
			where: "expires_at < @t",
		},
		{
			name:  "revoked_access_tokens",
			table: "revoked_access_tokens",
			key:   "jti",
			where: "expires_at < @t",
		},
		{
			name:  "consent_grants",
			table: "consent_grants",
			key:   "user_id, client_id",
			where: "expires_at < @t",
		},
		{
			name:  "signing_keys",
			table: "signing_keys",
			where: "expires_at < @t",
		},
		{
			// Codes, tokens and the OpenID Connect and PKCE rows of codes,
			// active or not, once past their clean-up horizon (see
			// oauth2_session.go: fosite itself checks expiry from the
			// session, so nothing live depends on this running).
			name:  "oauth2_sessions",
			table: "oauth2_sessions",
			key:   "kind, signature",
			where: "expires_at < @t",
		},
		{
			// Mailed links and codes, used or not, once expired.
			name:  "email_tokens",
			table: "email_tokens",
			where: "expires_at < @t",
		},
		{
			// Browsers nobody signed in from for as long as the cookie lives.
			name:  "known_browsers",
			table: "known_browsers",
			key:   "user_id, browser",
			where: "last_seen_at < @t",
			cutoff: func(now time.Time, _ GCOptions) (time.Time, bool) {
				return now.Add(-KnownBrowserRetention), true
			},
		},
		{
			// Sent and dead mail; pending mail is the worker's to finish.
			name:  "mail_outbox",
			table: "mail_outbox",
			where: "status <> 'pending' AND created_at < @t",
			cutoff: func(now time.Time, o GCOptions) (time.Time, bool) {
				r := o.MailRetention
				if r <= 0 {
					r = DefaultMailRetention
				}
				return now.Add(-r), true
			},
		},
		{
			name:  "audit_events",
			table: "audit_events",
			where: "occurred_at < @t",
			cutoff: func(now time.Time, o GCOptions) (time.Time, bool) {
				if o.AuditRetention <= 0 {
					return time.Time{}, false
				}
				return now.Add(-o.AuditRetention), true
			},
		},
	}
}

// CollectGarbage deletes expired rows from every target, in batches, and
// reports how many rows each lost. It is safe to run on several instances at
// once: deletes of the same rows are idempotent.
func (s *Store) CollectGarbage(ctx context.Context, o GCOptions) (GCResult, error) {
	batch := o.BatchSize
	if batch <= 0 {
		batch = 1000
	}
	now := s.now()
	res := GCResult{}
	for _, t := range gcTargets() {
		cut := now
		if t.cutoff != nil {
			c, ok := t.cutoff(now, o)
			if !ok {
				continue
			}
			cut = utc(c)
		}
		// DELETE … WHERE (key) IN (SELECT key … LIMIT n) works on both
		// dialects (row values since SQLite 3.15) and keeps every statement
		// short.
		key := t.key
		if key == "" {
			key = "id"
		}
		q := fmt.Sprintf("DELETE FROM %s WHERE (%s) IN (SELECT %s FROM %s WHERE %s LIMIT %d)", t.table, key, key, t.table, t.where, batch)
		for {
			r := s.db(ctx).Exec(q, map[string]any{"t": cut})
			if r.Error != nil {
				return res, fmt.Errorf("storage: gc %s: %w", t.name, mapError(r.Error))
			}
			res[t.name] += r.RowsAffected
			if r.RowsAffected < int64(batch) {
				break
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// RunGC collects garbage every interval (with ±10 % jitter so instances
// spread out) until ctx ends. Failures are logged, never fatal.
func (s *Store) RunGC(ctx context.Context, interval time.Duration, o GCOptions) {
	if interval <= 0 {
		return
	}
	for {
		jitter := time.Duration(rand.Int64N(int64(interval)/5+1)) - interval/10
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval + jitter):
		}
		start := time.Now()
		res, err := s.CollectGarbage(ctx, o)
		if err != nil {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "garbage collection failed", "err", err)
			}
			continue
		}
		attrs := []any{"took", time.Since(start).Round(time.Millisecond)}
		for k, v := range res {
			attrs = append(attrs, k, v)
		}
		s.log.InfoContext(ctx, "garbage collected", attrs...)
	}
}

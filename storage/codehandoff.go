package storage

import (
	"context"
	"errors"
	"sync"
	"time"
)

// An authorization code is written once, by the authorization response,
// and read once, by the token request that redeems it, usually within a
// second (RFC 6749 §4.1.2-§4.1.3: the client posts it back at once). The
// code handoff keeps the rows of the codes this instance issued in memory
// for that second, and the token request takes them from there instead of
// reading them back: the code flow costs one query less.
//
// An entry is taken, not read: the first token request for a code removes
// it, and any later one (a replay, a retry) reads the database. Nothing
// here decides that a code is still usable: the redemption does, as it
// does for a read from the database, by one conditional UPDATE of the code
// row at the commit (oauth2_redeem.go), which refuses a code used, revoked
// or deleted meanwhile, on this instance or another; a code the handoff
// still knew as unused is then refused as a code used twice (RFC 6749
// §4.1.2, oidc's lostCodeRace). A request whose token request lands on
// another instance reads the database there, and this entry expires
// unused.
//
// One thing a read from the database does that the handoff cannot: show a
// replayed code as used before fosite checks the rest of the request, so
// that even a replay without the PKCE verifier revokes the tokens issued
// from the code (RFC 6749 §4.1.2 and §10.5). A token request refused after
// its code came from the handoff therefore asks the database about the
// code (HandedOffCodeUsed), on that refusal's path only.

// codeHandoffTTL is how long an issued code's rows wait to be taken: far
// longer than a client takes to redeem a code, far shorter than a code
// lives (a later redemption reads the database).
const codeHandoffTTL = 30 * time.Second

// codeHandoffMax bounds the codes kept (a code's rows are 2-3 KB); beyond
// it the oldest go first.
const codeHandoffMax = 1024

// codeHandoff holds the rows of codes this instance issued, by the code's
// row key (which its PKCE row shares).
type codeHandoff struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	codes map[string]handoffEntry
	// queue is the keys in the order they were put, which is the order
	// they expire in (one TTL for all); a key taken early stays in it
	// until its time comes or the queue is compacted.
	queue []queuedCode
}

type handoffEntry struct {
	rows []oauth2Session
	// clients are the CreatedAt of each row's client when the rows were
	// written: a client deleted and made again under the same ID is
	// another, whose rows the deletion took with it.
	clients []time.Time
	expires time.Time
}

type queuedCode struct {
	key     string
	expires time.Time
}

func newCodeHandoff(ttl time.Duration, maxCodes int) *codeHandoff {
	return &codeHandoff{ttl: ttl, max: maxCodes, codes: map[string]handoffEntry{}}
}

// put keeps rows (committed: the rows of an authorization response) under
// the key of their code, one entry per request that has a code row, each
// row a copy. resolve gives each row's client; a row whose client it
// cannot give keeps its whole code out.
func (h *codeHandoff) put(ctx context.Context, rows []oauth2Session, resolve ClientResolver, now time.Time) {
	families := map[string][]oauth2Session{}
	for _, r := range rows {
		if memoised(oauth2Kind(r.Kind)) {
			families[r.RequestID] = append(families[r.RequestID], oauth2SessionClient{Row: r}.clone().Row)
		}
	}
	entries := map[string]handoffEntry{}
	for _, family := range families {
		key := ""
		e := handoffEntry{rows: family, clients: make([]time.Time, len(family)), expires: now.Add(h.ttl)}
		for i, r := range family {
			if oauth2Kind(r.Kind) == kindCode {
				key = r.Signature
			}
			c, err := resolve(ctx, r.ClientID)
			if err != nil {
				key = ""
				break
			}
			e.clients[i] = c.CreatedAt
		}
		if key != "" {
			entries[key] = e
		}
	}
	if len(entries) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expire(now)
	for key, e := range entries {
		for len(h.codes) >= h.max {
			if !h.dropOldest() {
				break
			}
		}
		h.codes[key] = e
		h.queue = append(h.queue, queuedCode{key, e.expires})
	}
	if len(h.queue) > 4*h.max {
		h.compact()
	}
}

// expire drops the entries whose time has come. h.mu is held.
func (h *codeHandoff) expire(now time.Time) {
	for len(h.queue) > 0 && !now.Before(h.queue[0].expires) {
		h.dropOldest()
	}
}

// dropOldest removes the queue's first key, and its entry if that is
// still the one the key was queued for; false when the queue is empty.
// h.mu is held.
func (h *codeHandoff) dropOldest() bool {
	if len(h.queue) == 0 {
		return false
	}
	q := h.queue[0]
	h.queue[0] = queuedCode{}
	h.queue = h.queue[1:]
	if e, ok := h.codes[q.key]; ok && e.expires.Equal(q.expires) {
		delete(h.codes, q.key)
	}
	return true
}

// compact rebuilds the queue from the entries still kept, in order. h.mu
// is held.
func (h *codeHandoff) compact() {
	live := make([]queuedCode, 0, len(h.codes))
	for _, q := range h.queue {
		if e, ok := h.codes[q.key]; ok && e.expires.Equal(q.expires) {
			live = append(live, q)
		}
	}
	h.queue = live
}

// take removes and returns the rows kept under the code or PKCE key key,
// each with its client from resolve, as loadCodeFamily returns them; ok is
// false when the handoff has nothing usable for key (the caller reads the
// database).
func (h *codeHandoff) take(ctx context.Context, key string, resolve ClientResolver, now time.Time) (rows []oauth2SessionClient, ok bool, err error) {
	h.mu.Lock()
	h.expire(now)
	e, found := h.codes[key]
	delete(h.codes, key)
	h.mu.Unlock()
	if !found || !now.Before(e.expires) {
		return nil, false, nil
	}
	for i, r := range e.rows {
		c, err := resolve(ctx, r.ClientID)
		if errors.Is(err, ErrNotFound) {
			continue // as the database's rows of a deleted client
		}
		if err != nil {
			return nil, false, err
		}
		if !c.CreatedAt.Equal(e.clients[i]) {
			return nil, false, nil
		}
		rows = append(rows, oauth2SessionClient{Row: r, Client: *c})
	}
	return rows, true, nil
}

// clear forgets every code (a revocation of codes the handoff cannot
// name).
func (h *codeHandoff) clear() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.codes)
	h.queue = nil
}

// handOffCodes keeps the committed rows of an authorization response for
// the token request that will redeem its code, when the store takes
// clients from a resolver (the server's cache): the rows come back with
// their clients without a statement.
func (s *Store) handOffCodes(ctx context.Context, rows []oauth2Session) {
	resolve := s.clientResolver.Load()
	if resolve == nil {
		return
	}
	// The rows' times are already as the database keeps them (utc).
	s.handoff.put(ctx, rows, *resolve, s.now())
}

// HandedOffCodeUsed tells a token request whose code's rows came from the
// code handoff (in ctx's code memo) whether the database holds that code
// as used, and the code's request ID (the grant whose tokens a replay
// revokes). It reads nothing, and says not used, when the code did not
// come from the handoff (fosite read the database itself) or is gone.
func (s *Store) HandedOffCodeUsed(ctx context.Context) (requestID string, used bool, err error) {
	m := codeMemoOf(ctx)
	if m == nil {
		return "", false, nil
	}
	m.mu.Lock()
	key := m.handedOff
	m.mu.Unlock()
	if key == "" {
		return "", false, nil
	}
	var rows []oauth2Session
	err = s.gdb.WithContext(ctx).Select("request_id", "active").
		Where("kind = ? AND signature = ?", string(kindCode), key).Limit(1).Find(&rows).Error
	if err != nil {
		return "", false, oauth2Error(kindCode.noun(), err)
	}
	if len(rows) == 0 {
		return "", false, nil
	}
	return rows[0].RequestID, !rows[0].Active, nil
}

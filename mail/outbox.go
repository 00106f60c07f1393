package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/madfam-org/janua/storage"
)

// OutboxOptions configure NewOutbox.
type OutboxOptions struct {
	// Sender delivers: the SMTP client, or the development Mailbox.
	Sender Sender
	// Templates renders messages (*templates.Set).
	Templates Renderer
	// Issuer is the service's URL: every "url" a message carries must lie
	// under it, and mail footers show it.
	Issuer string
	// Brand is the product name mails speak for ("Janua" when empty).
	Brand string
	// Retry is the schedule of attempts (see Retry for its defaults).
	Retry Retry
	// Batch is how many messages one claim takes (default 5).
	Batch int
	// Poll is how often the worker looks for due mail when nothing woke it:
	// mail other instances queued, or whose retry came (default 15 s).
	Poll time.Duration
	// SendTimeout bounds one delivery (default 30 s). A claim's lease is long
	// enough for a whole batch twice over.
	SendTimeout time.Duration
	Log         *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Outbox is the Queue of the whole server: Enqueue writes to the durable
// outbox in the caller's transaction, and Run delivers from it. Any number
// of instances may run their Outbox on one database: a claimed message is
// leased to one worker, so it is sent once (at least once if a worker dies
// between the server's acceptance and recording it: SMTP cannot do better).
type Outbox struct {
	store Store
	o     OutboxOptions
	lease time.Duration
	wake  chan struct{}
}

var _ Queue = (*Outbox)(nil)

// NewOutbox returns the outbox over store.
func NewOutbox(store Store, o OutboxOptions) *Outbox {
	o.Retry = o.Retry.withDefaults()
	if o.Batch <= 0 {
		o.Batch = 5
	}
	if o.Poll <= 0 {
		o.Poll = 15 * time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Brand == "" {
		o.Brand = "Janua"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	return &Outbox{
		store: store, o: o,
		lease: 2*time.Duration(o.Batch)*o.SendTimeout + time.Minute,
		wake:  make(chan struct{}, 1),
	}
}

// Enqueue checks m and queues it in the transaction ctx carries (if any):
// the message exists if and only if that transaction commits, and the
// worker wakes as soon as it has. It never talks to a mail server.
func (q *Outbox) Enqueue(ctx context.Context, m Message) error {
	if err := q.check(m); err != nil {
		return err
	}
	rec := &storage.OutboxMessage{Recipient: m.To, Lang: m.Lang, Kind: m.Kind, Data: maps.Clone(m.Data)}
	if err := q.store.EnqueueMail(ctx, rec); err != nil {
		return fmt.Errorf("mail: enqueue %s: %w", m.Kind, err)
	}
	q.store.AfterCommit(ctx, q.notify)
	return nil
}

// check refuses a message that could never be delivered, or that links
// anywhere but this service: better an error in the request that queued
// it than a dead letter later.
func (q *Outbox) check(m Message) error {
	need, known := required[m.Kind]
	if !known {
		return fmt.Errorf("mail: unknown kind %q", m.Kind)
	}
	if _, err := parseAddress(m.To); err != nil {
		return fmt.Errorf("mail: %s: recipient: %w", m.Kind, err)
	}
	for _, k := range need {
		if m.Data[k] == "" {
			return fmt.Errorf("mail: %s needs %q in its data", m.Kind, k)
		}
	}
	if raw, ok := m.Data["url"]; ok && q.o.Issuer != "" {
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || (raw != q.o.Issuer && !strings.HasPrefix(raw, q.o.Issuer+"/") && !strings.HasPrefix(raw, q.o.Issuer+"?")) {
			return fmt.Errorf("mail: %s: the url must be an absolute URL under the issuer %s", m.Kind, q.o.Issuer)
		}
	}
	return nil
}

// notify wakes the worker without waiting.
func (q *Outbox) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run delivers due mail until ctx ends: at once, whenever a local Enqueue
// commits, when a retry it scheduled comes due, and every Poll otherwise.
// It returns promptly when ctx ends; a delivery cut short is retried later.
func (q *Outbox) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		}
		_, next, err := q.pass(ctx)
		if err != nil && ctx.Err() == nil {
			q.o.Log.ErrorContext(ctx, "mail outbox: delivery pass failed", "err", err)
		}
		wait := q.o.Poll
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(q.o.Now()), 0))
		}
		timer.Reset(wait)
	}
}

// Deliver makes one pass over the outbox: it claims and delivers every
// message due now, in batches, and returns how many it sent. Run calls it;
// tests call it to step the outbox with their own clock.
func (q *Outbox) Deliver(ctx context.Context) (int, error) {
	n, _, err := q.pass(ctx)
	return n, err
}

// pass is Deliver that also reports the earliest retry it scheduled.
func (q *Outbox) pass(ctx context.Context) (sent int, next time.Time, err error) {
	for {
		batch, err := q.store.ClaimMail(ctx, q.lease, q.o.Batch)
		if err != nil {
			return sent, next, fmt.Errorf("mail: claim: %w", err)
		}
		for i, m := range batch {
			if ctx.Err() != nil {
				q.release(ctx, batch[i:])
				return sent, next, ctx.Err()
			}
			retry, ok := q.attempt(ctx, m)
			if ok {
				sent++
			}
			if !retry.IsZero() && (next.IsZero() || retry.Before(next)) {
				next = retry
			}
		}
		if len(batch) < q.o.Batch {
			return sent, next, nil
		}
	}
}

// attempt renders and sends one claimed message and records the outcome:
// sent, failed with the time of the next attempt (returned), or dead.
func (q *Outbox) attempt(ctx context.Context, m storage.OutboxMessage) (retryAt time.Time, sent bool) {
	// Outcomes are recorded even when ctx was cancelled mid-send: a message
	// the server accepted must not be sent again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	log := q.o.Log.With("id", m.ID, "kind", m.Kind, "to", maskAddress(m.Recipient), "attempt", m.Attempts)
	if m.ClaimedUntil != nil && q.o.Now().Add(q.o.SendTimeout).After(*m.ClaimedUntil) {
		// Not enough lease left to finish before another worker may claim it.
		q.release(ctx, []storage.OutboxMessage{m})
		return time.Time{}, false
	}
	data := maps.Clone(m.Data)
	data["brand"], data["issuer"] = q.o.Brand, q.o.Issuer
	subject, text, html, err := q.o.Templates.Mail(m.Lang, m.Kind, data)
	if err == nil {
		sctx, scancel := context.WithTimeout(ctx, q.o.SendTimeout)
		err = q.o.Sender.Send(sctx, Email{To: m.Recipient, Lang: m.Lang, Kind: m.Kind, Subject: subject, Text: text, HTML: html, Data: data})
		scancel()
	} else {
		err = Permanent(fmt.Errorf("render: %w", err))
	}
	reason := ""
	if err != nil {
		// The recipient stays in the database row, but not in the log.
		reason = strings.ReplaceAll(err.Error(), m.Recipient, maskAddress(m.Recipient))
	}
	var mark error
	switch {
	case err == nil:
		sent = true
		mark = q.store.MarkMailSent(rctx, m.ID, m.Claim)
		log.InfoContext(ctx, "mail sent")
	case IsPermanent(err) || m.Attempts >= q.o.Retry.Attempts:
		mark = q.store.MarkMailDead(rctx, m.ID, m.Claim, reason)
		why := "refused for good"
		if !IsPermanent(err) {
			why = "too many attempts"
		}
		log.ErrorContext(ctx, "mail undeliverable: "+why, "err", reason)
	default:
		in := q.o.Retry.delay(m.Attempts)
		retryAt = q.o.Now().Add(in)
		mark = q.store.MarkMailFailed(rctx, m.ID, m.Claim, reason, retryAt)
		log.WarnContext(ctx, "mail delivery failed; will retry", "retry_in", in.Round(time.Second), "err", reason)
	}
	if mark != nil {
		if errors.Is(mark, storage.ErrConflict) {
			log.WarnContext(ctx, "mail outbox: the claim expired before the outcome was recorded", "err", mark)
		} else {
			log.ErrorContext(ctx, "mail outbox: recording the outcome failed", "err", mark)
		}
	}
	return retryAt, sent
}

// release hands claimed messages back, due at once, without an attempt's
// outcome (their attempt count stays raised).
func (q *Outbox) release(ctx context.Context, ms []storage.OutboxMessage) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, m := range ms {
		_ = q.store.MarkMailFailed(rctx, m.ID, m.Claim, "not attempted: released", q.o.Now())
	}
}

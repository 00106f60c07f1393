package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Outbox message statuses.
const (
	MailPending = "pending" // waiting for (another) delivery attempt
	MailSent    = "sent"    // the mail server accepted it
	MailDead    = "dead"    // given up: a permanent refusal or too many attempts
)

// OutboxMessage is one email waiting in, or done with, the mail outbox (the
// mail package's durable queue). Data is sealed at rest, like signing keys,
// because it holds sign-in links and codes; it is emptied once the message
// is sent or dead, so they never outlive their delivery.
type OutboxMessage struct {
	ID        string
	Recipient string
	Lang      string
	Kind      string
	Data      map[string]string
	Status    string
	// Attempts counts delivery attempts begun, the one in progress included.
	Attempts      int
	NextAttemptAt time.Time
	// ClaimedUntil and Claim are the lease of the worker delivering it.
	ClaimedUntil *time.Time
	Claim        string
	// LastError says why the last attempt failed; never the message body.
	LastError string
	CreatedAt time.Time
	SentAt    *time.Time
}

// outboxRow is OutboxMessage as stored.
type outboxRow struct {
	ID            string `gorm:"primaryKey"`
	Recipient     string
	Lang          string
	Kind          string
	Data          []byte // sealed JSON
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	ClaimedUntil  *time.Time
	Claim         string
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

func (outboxRow) TableName() string { return "mail_outbox" }

const outboxColumns = "id, recipient, lang, kind, data, status, attempts, next_attempt_at, claimed_until, claim, last_error, created_at, sent_at"

func outboxBinding(id string) string { return "mail_outbox.data:" + id }

// maxLastError bounds the stored reason of a failure.
const maxLastError = 500

// EnqueueMail stores m as pending and due now (ID, CreatedAt and
// NextAttemptAt default to a new UUID and now). It joins the transaction in
// ctx, so the message exists if and only if that transaction commits.
func (s *Store) EnqueueMail(ctx context.Context, m *OutboxMessage) error {
	if m.Recipient == "" || m.Kind == "" {
		return fmt.Errorf("storage: enqueue mail: recipient and kind are required")
	}
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	now := s.now()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	if m.Data == nil {
		m.Data = map[string]string{}
	}
	plain, err := json.Marshal(m.Data)
	if err != nil {
		return fmt.Errorf("storage: enqueue mail: %w", err)
	}
	m.Status, m.Attempts, m.ClaimedUntil, m.Claim, m.LastError, m.SentAt = MailPending, 0, nil, "", "", nil
	m.CreatedAt, m.NextAttemptAt = utc(m.CreatedAt), utc(m.NextAttemptAt)
	row := outboxRow{
		ID: m.ID, Recipient: m.Recipient, Lang: m.Lang, Kind: m.Kind,
		Data:   s.seal.Seal(plain, outboxBinding(m.ID)),
		Status: MailPending, NextAttemptAt: m.NextAttemptAt, CreatedAt: m.CreatedAt,
	}
	if err := s.db(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("storage: enqueue mail: %w", mapError(err))
	}
	return nil
}

// ClaimMail leases up to limit due messages (pending, next attempt reached,
// no live lease) to the caller for lease, counts the attempt, and returns
// them oldest due first, each carrying the claim token that MarkMailSent,
// MarkMailFailed and MarkMailDead require. Workers on several instances
// never receive the same message while its lease lasts: on PostgreSQL the
// candidates are locked with FOR UPDATE SKIP LOCKED, so concurrent claims
// pass over each other's rows instead of waiting; SQLite runs on one
// connection, so the single UPDATE … RETURNING is already atomic. A message
// whose data no longer unseals (JANUA_SECRET changed) is marked dead here,
// not returned.
func (s *Store) ClaimMail(ctx context.Context, lease time.Duration, limit int) ([]OutboxMessage, error) {
	if lease <= 0 || limit <= 0 {
		return nil, fmt.Errorf("storage: claim mail: lease and limit must be positive")
	}
	now := s.now()
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := `UPDATE mail_outbox SET claimed_until = @until, claim = @claim, attempts = attempts + 1
WHERE id IN (SELECT id FROM mail_outbox
    WHERE status = 'pending' AND next_attempt_at <= @now AND (claimed_until IS NULL OR claimed_until <= @now)
    ORDER BY next_attempt_at, created_at LIMIT @limit` + lock + `)
RETURNING ` + outboxColumns
	var rows []outboxRow
	err := s.db(ctx).Raw(q, map[string]any{
		"until": utc(now.Add(lease)), "claim": uuid.NewString(), "now": now, "limit": limit,
	}).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: claim mail: %w", mapError(err))
	}
	out := make([]OutboxMessage, 0, len(rows))
	for _, r := range rows {
		m := OutboxMessage{
			ID: r.ID, Recipient: r.Recipient, Lang: r.Lang, Kind: r.Kind, Status: r.Status, Attempts: r.Attempts,
			NextAttemptAt: utc(r.NextAttemptAt), ClaimedUntil: utcPtr(r.ClaimedUntil), Claim: r.Claim,
			LastError: r.LastError, CreatedAt: utc(r.CreatedAt), SentAt: utcPtr(r.SentAt),
		}
		if err := s.unsealMail(&m, r.Data); err != nil {
			if err := s.MarkMailDead(ctx, m.ID, m.Claim, err.Error()); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Store) unsealMail(m *OutboxMessage, sealed []byte) error {
	m.Data = map[string]string{}
	if len(sealed) == 0 {
		return nil // sent or dead: emptied
	}
	plain, err := s.seal.Open(sealed, outboxBinding(m.ID))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(plain, &m.Data); err != nil {
		return fmt.Errorf("storage: mail %s: data: %w", m.ID, err)
	}
	return nil
}

// MarkMailSent records that the message with the claim was delivered and
// empties its data. ErrConflict: the claim is no longer the message's (its
// lease ran out and another worker claimed it, or it is no longer pending).
func (s *Store) MarkMailSent(ctx context.Context, id, claim string) error {
	now := s.now()
	return s.finishClaim(ctx, "mark mail sent", id, claim, map[string]any{
		"status": MailSent, "sent_at": now, "data": []byte{}, "last_error": "",
	})
}

// MarkMailFailed records a failed attempt of the message with the claim and
// when to try again; reason is stored as its last error.
func (s *Store) MarkMailFailed(ctx context.Context, id, claim, reason string, retryAt time.Time) error {
	return s.finishClaim(ctx, "mark mail failed", id, claim, map[string]any{
		"next_attempt_at": utc(retryAt), "last_error": safeReason(reason),
	})
}

// MarkMailDead gives up on the message with the claim and empties its data;
// reason is stored as its last error.
func (s *Store) MarkMailDead(ctx context.Context, id, claim, reason string) error {
	return s.finishClaim(ctx, "mark mail dead", id, claim, map[string]any{
		"status": MailDead, "data": []byte{}, "last_error": safeReason(reason),
	})
}

// finishClaim applies set to a pending message still held by claim and
// releases the lease.
func (s *Store) finishClaim(ctx context.Context, op, id, claim string, set map[string]any) error {
	if claim == "" {
		return fmt.Errorf("storage: %s: %w", op, ErrConflict)
	}
	set["claimed_until"], set["claim"] = nil, ""
	res := s.db(ctx).Model(&outboxRow{}).Where("id = ? AND claim = ? AND status = ?", id, claim, MailPending).Updates(set)
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: %s: %w", op, mapError(err))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: %s %s: the claim is no longer held: %w", op, id, ErrConflict)
	}
	return nil
}

// GetMail returns one outbox message with its data unsealed (empty once
// sent or dead).
func (s *Store) GetMail(ctx context.Context, id string) (*OutboxMessage, error) {
	var r outboxRow
	if err := s.db(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, fmt.Errorf("storage: mail %s: %w", id, mapError(err))
	}
	return s.outboxMessage(r)
}

// ListMail returns up to limit outbox messages with status ("" for any),
// newest first, data unsealed.
func (s *Store) ListMail(ctx context.Context, status string, limit int) ([]OutboxMessage, error) {
	q := s.db(ctx).Order("created_at DESC, id").Limit(Page{Limit: limit}.limit())
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var rows []outboxRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: list mail: %w", mapError(err))
	}
	out := make([]OutboxMessage, 0, len(rows))
	for _, r := range rows {
		m, err := s.outboxMessage(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, nil
}

func (s *Store) outboxMessage(r outboxRow) (*OutboxMessage, error) {
	m := &OutboxMessage{
		ID: r.ID, Recipient: r.Recipient, Lang: r.Lang, Kind: r.Kind, Status: r.Status, Attempts: r.Attempts,
		NextAttemptAt: utc(r.NextAttemptAt), ClaimedUntil: utcPtr(r.ClaimedUntil), Claim: r.Claim,
		LastError: r.LastError, CreatedAt: utc(r.CreatedAt), SentAt: utcPtr(r.SentAt),
	}
	if err := s.unsealMail(m, r.Data); err != nil {
		return nil, fmt.Errorf("storage: mail %s: %w", r.ID, err)
	}
	return m, nil
}

// MailCounts counts outbox messages by status (for health and tests).
func (s *Store) MailCounts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	if err := s.db(ctx).Model(&outboxRow{}).Select("status, COUNT(*) AS n").Group("status").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: count mail: %w", mapError(err))
	}
	out := map[string]int64{MailPending: 0, MailSent: 0, MailDead: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// safeReason makes a failure reason fit to store: one line, bounded.
func safeReason(reason string) string {
	reason = strings.Join(strings.Fields(reason), " ")
	if len(reason) > maxLastError {
		cut := maxLastError
		for cut > 0 && !utf8Start(reason[cut]) {
			cut--
		}
		reason = reason[:cut] + "…"
	}
	return reason
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

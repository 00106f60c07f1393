package storage

import (
	"context"
	"fmt"
	"time"
)

// AuditEvent is one security-relevant event: a sign-in, a failure, a change
// to a user, client or key. Details never hold secrets.
type AuditEvent struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	OccurredAt time.Time
	Type       string // dotted, e.g. "user.created", "login.failed"
	Outcome    string // AuditSuccess or AuditFailure
	Actor      string // who acted: a user ID, "cli", "system"
	Subject    string // whom or what it concerns
	ClientID   string
	IP         string `gorm:"column:ip"`
	UserAgent  string
	RequestID  string
	Details    map[string]any `gorm:"serializer:json"`
}

// TableName maps AuditEvent to its table.
func (AuditEvent) TableName() string { return "audit_events" }

// Audit outcomes.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
)

// RecordAuditEvent appends e (OccurredAt defaults to now). Record failures
// outside the transaction that failed, or they roll back with it.
func (s *Store) RecordAuditEvent(ctx context.Context, e *AuditEvent) error {
	return s.RecordAuditEvents(ctx, e)
}

// RecordAuditEvents appends es in order, in one multi-row INSERT: a request
// that has several events to record (a sign-in from a new browser) makes
// one round trip. Each event is as RecordAuditEvent takes it.
func (s *Store) RecordAuditEvents(ctx context.Context, es ...*AuditEvent) error {
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		if e.Type == "" {
			return fmt.Errorf("storage: audit event without type")
		}
		if e.OccurredAt.IsZero() {
			e.OccurredAt = s.now()
		}
		e.OccurredAt = utc(e.OccurredAt)
		if e.Outcome == "" {
			e.Outcome = AuditSuccess
		}
		if e.Details == nil {
			e.Details = map[string]any{}
		}
	}
	if err := s.db(ctx).Create(es).Error; err != nil {
		return fmt.Errorf("storage: record audit event %s: %w", es[0].Type, mapError(err))
	}
	return nil
}

// AuditFilter selects audit events; zero fields do not filter.
type AuditFilter struct {
	Type    string
	Subject string
	Since   time.Time
	// BeforeID pages backwards: events with a smaller ID.
	BeforeID int64
	Limit    int
}

// ListAuditEvents returns matching events, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	q := s.db(ctx).Order("id DESC").Limit(Page{Limit: f.Limit}.limit())
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.Subject != "" {
		q = q.Where("subject = ?", f.Subject)
	}
	if !f.Since.IsZero() {
		q = q.Where("occurred_at >= ?", utc(f.Since))
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []AuditEvent
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("storage: list audit events: %w", mapError(err))
	}
	for i := range out {
		out[i].OccurredAt = utc(out[i].OccurredAt)
		if out[i].Details == nil {
			out[i].Details = map[string]any{}
		}
	}
	return out, nil
}

package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// FlowState is where a pending authorization request stands.
//
//	            login            consent           oidc
//	created ─────────► authenticated ────────► consented ────────► completed
//	   │                    │                      │
//	   └────────────────────┴──────────────────────┴──► rejected (user denied,
//	                                                    prompt=none failed, …)
//
// A flow past expires_at is expired whatever its state: it is never
// advanced and garbage collection removes it. completed and rejected are
// final; a flow reaches completed exactly once (the challenge is single-use).
type FlowState string

// The flow states.
const (
	FlowCreated       FlowState = "created"
	FlowAuthenticated FlowState = "authenticated"
	FlowConsented     FlowState = "consented"
	FlowCompleted     FlowState = "completed"
	FlowRejected      FlowState = "rejected"
)

// Flow is the persisted authorization request that oidc, login and consent
// hand to one another through redirects (they never import one another).
// ID is the SHA-256 (hex) of the unguessable challenge the browser carries;
// the challenge itself is never stored.
type Flow struct {
	ID       string `gorm:"primaryKey"`
	State    FlowState
	ClientID string
	// Browser is the SHA-256 (hex) of the browser cookie of the browser that
	// started the flow; only that browser may advance it.
	Browser string
	// Request is the authorization request's parameters.
	Request map[string][]string `gorm:"serializer:json"`
	// RequiredACR is what the request demands of the authentication: the
	// authentication context classes it accepts, space-separated, in the
	// request's order of preference ("" demands nothing). Written by oidc.
	RequiredACR string `gorm:"column:required_acr"`
	// The authentication, written by login.
	Subject   string
	SessionID string
	AuthTime  *time.Time
	AMR       []string `gorm:"column:amr;serializer:json"`
	ACR       string   `gorm:"column:acr"`
	// The consent, written by consent (or by oidc when none is needed).
	GrantedScopes []string `gorm:"serializer:json"`
	// Why the flow was rejected: an OAuth 2.0 error code and description.
	Error            string
	ErrorDescription string
	Revision         int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ExpiresAt        time.Time
}

// TableName maps Flow to its table.
func (Flow) TableName() string { return "flows" }

// CreateFlow stores a new flow in state created.
func (s *Store) CreateFlow(ctx context.Context, f *Flow) error {
	if f.ID == "" || f.ClientID == "" || f.ExpiresAt.IsZero() {
		return fmt.Errorf("storage: create flow: id, client and expiry are required")
	}
	now := s.now()
	f.State, f.Revision = FlowCreated, 1
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = now, now, utc(f.ExpiresAt)
	f.AuthTime = utcPtr(f.AuthTime)
	fillFlow(f)
	if err := s.db(ctx).Create(f).Error; err != nil {
		return fmt.Errorf("storage: create flow: %w", mapError(err))
	}
	return nil
}

// GetFlow returns a flow that has not expired (ErrNotFound otherwise).
func (s *Store) GetFlow(ctx context.Context, id string) (*Flow, error) {
	var f Flow
	if err := s.db(ctx).Where("id = ? AND expires_at > ?", id, s.now()).Take(&f).Error; err != nil {
		return nil, fmt.Errorf("storage: flow: %w", mapError(err))
	}
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt, f.AuthTime = utc(f.CreatedAt), utc(f.UpdatedAt), utc(f.ExpiresAt), utcPtr(f.AuthTime)
	fillFlow(&f)
	return &f, nil
}

// AdvanceFlow moves f from the state `from` to f.State, writing every
// result field of f, if and only if the stored flow is still in `from` at
// f.Revision and has not expired. Of several concurrent callers exactly one
// succeeds; the others get ErrConflict (or ErrNotFound when it is gone).
// This is what makes the challenge single-use.
func (s *Store) AdvanceFlow(ctx context.Context, f *Flow, from FlowState) error {
	if !validTransition(from, f.State) {
		return fmt.Errorf("storage: flow cannot go from %s to %s: %w", from, f.State, ErrConflict)
	}
	fillFlow(f)
	cols := map[string]any{
		"state":             string(f.State),
		"subject":           f.Subject,
		"session_id":        f.SessionID,
		"auth_time":         utcPtr(f.AuthTime),
		"acr":               f.ACR,
		"error":             f.Error,
		"error_description": f.ErrorDescription,
		"revision":          gorm.Expr("revision + 1"),
	}
	for col, v := range map[string]any{"amr": f.AMR, "granted_scopes": f.GrantedScopes} {
		text, err := jsonText(v)
		if err != nil {
			return err
		}
		cols[col] = text
	}
	now := s.now()
	cols["updated_at"] = now
	res := s.db(ctx).Model(&Flow{}).
		Where("id = ? AND state = ? AND revision = ? AND expires_at > ?", f.ID, string(from), f.Revision, now).
		Updates(cols)
	if err := res.Error; err != nil {
		return fmt.Errorf("storage: advance flow: %w", mapError(err))
	}
	if res.RowsAffected == 0 {
		var n int64
		if err := s.db(ctx).Model(&Flow{}).Where("id = ? AND expires_at > ?", f.ID, now).Count(&n).Error; err != nil {
			return fmt.Errorf("storage: advance flow: %w", mapError(err))
		}
		if n == 0 {
			return fmt.Errorf("storage: flow: %w", ErrNotFound)
		}
		return fmt.Errorf("storage: flow already advanced: %w", ErrConflict)
	}
	f.Revision++
	f.UpdatedAt = now
	return nil
}

// validTransition is the state machine drawn on FlowState.
func validTransition(from, to FlowState) bool {
	switch from {
	case FlowCreated:
		return to == FlowAuthenticated || to == FlowConsented || to == FlowCompleted || to == FlowRejected
	case FlowAuthenticated:
		return to == FlowAuthenticated || to == FlowConsented || to == FlowCompleted || to == FlowRejected
	case FlowConsented:
		return to == FlowCompleted || to == FlowRejected
	}
	return false
}

func fillFlow(f *Flow) {
	if f.Request == nil {
		f.Request = map[string][]string{}
	}
	if f.AMR == nil {
		f.AMR = []string{}
	}
	if f.GrantedScopes == nil {
		f.GrantedScopes = []string{}
	}
}

// NewFlowChallenge returns a fresh unguessable challenge (256 bits,
// base64url) for the browser to carry, and the flow ID it maps to.
func NewFlowChallenge() (challenge, id string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	challenge = base64.RawURLEncoding.EncodeToString(b)
	return challenge, FlowID(challenge)
}

// FlowID is the stored ID of the flow a challenge names: its hex SHA-256.
func FlowID(challenge string) string {
	sum := sha256.Sum256([]byte(challenge))
	return hex.EncodeToString(sum[:])
}

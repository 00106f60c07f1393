package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"
)

// ConsentGrant is the consent a user remembers for a client: the scopes
// they allowed. A later request within those scopes needs no consent page.
type ConsentGrant struct {
	UserID    string   `gorm:"primaryKey"`
	ClientID  string   `gorm:"primaryKey"`
	Scopes    []string `gorm:"serializer:json"`
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt *time.Time
}

// TableName maps ConsentGrant to its table.
func (ConsentGrant) TableName() string { return "consent_grants" }

// SaveConsentGrant creates or replaces the user's grant to the client.
func (s *Store) SaveConsentGrant(ctx context.Context, g *ConsentGrant) error {
	now := s.now()
	g.CreatedAt, g.UpdatedAt, g.ExpiresAt = now, now, utcPtr(g.ExpiresAt)
	if g.Scopes == nil {
		g.Scopes = []string{}
	}
	err := s.db(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}, {Name: "client_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"scopes", "updated_at", "expires_at"}),
	}).Create(g).Error
	if err != nil {
		return fmt.Errorf("storage: save consent: %w", mapError(err))
	}
	return nil
}

// GetConsentGrant returns the user's live grant to the client (ErrNotFound
// when there is none or it expired).
func (s *Store) GetConsentGrant(ctx context.Context, userID, clientID string) (*ConsentGrant, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, fmt.Errorf("storage: consent: %w", ErrNotFound)
	}
	var g ConsentGrant
	err := s.reader(ctx).Where("user_id = ? AND client_id = ? AND (expires_at IS NULL OR expires_at > ?)", userID, clientID, s.now()).
		Take(&g).Error
	if err != nil {
		return nil, fmt.Errorf("storage: consent: %w", mapError(err))
	}
	g.CreatedAt, g.UpdatedAt, g.ExpiresAt = utc(g.CreatedAt), utc(g.UpdatedAt), utcPtr(g.ExpiresAt)
	return &g, nil
}

// ListConsentGrants returns a user's grants (for the account page).
func (s *Store) ListConsentGrants(ctx context.Context, userID string) ([]ConsentGrant, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, nil
	}
	var out []ConsentGrant
	if err := s.db(ctx).Where("user_id = ?", userID).Order("client_id").Limit(maxPageLimit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("storage: consents: %w", mapError(err))
	}
	return out, nil
}

// DeleteConsentGrant forgets the user's grant to the client.
func (s *Store) DeleteConsentGrant(ctx context.Context, userID, clientID string) error {
	if _, err := uuid.Parse(userID); err != nil {
		return fmt.Errorf("storage: consent: %w", ErrNotFound)
	}
	res := s.db(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Delete(&ConsentGrant{})
	if res.Error != nil {
		return fmt.Errorf("storage: delete consent: %w", mapError(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("storage: consent: %w", ErrNotFound)
	}
	return nil
}

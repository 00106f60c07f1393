package directory

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/google/uuid"

	"github.com/madfam-org/janua/storage"
	"github.com/madfam-org/janua/web"
)

// ErrInvalidUser wraps every validation failure of a user's data.
var ErrInvalidUser = errors.New("directory: invalid user")

// Users manages user records.
type Users struct {
	store Store
}

// NewUsers returns the user directory over store.
func NewUsers(store Store) *Users { return &Users{store: store} }

// UserSpec describes a new user.
type UserSpec struct {
	Email  string
	Claims map[string]any
	// PasswordHash is the already-hashed password (see login.Passwords), or
	// "" for a user who signs in otherwise.
	PasswordHash string
}

// Create validates spec and stores the user with its audit event, atomically.
// Errors wrap ErrInvalidUser (with every problem named) or
// storage.ErrAlreadyExists (the email is taken).
func (d *Users) Create(ctx context.Context, spec UserSpec, actor string) (*storage.User, error) {
	var probs []string
	email, err := normalizeEmail(spec.Email)
	if err != nil {
		probs = append(probs, err.Error())
	}
	claims := map[string]any{}
	for k, v := range spec.Claims {
		claims[k] = v
	}
	probs = append(probs, ValidateClaims(claims)...)
	if len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidUser, strings.Join(probs, "; "))
	}
	verified, _ := claims["email_verified"].(bool)
	delete(claims, "email_verified")
	u := &storage.User{Email: email, EmailVerified: verified, Claims: claims}
	err = d.store.InTx(ctx, func(ctx context.Context) error {
		if err := d.store.CreateUser(ctx, u, spec.PasswordHash); err != nil {
			return err
		}
		return d.record(ctx, "user.created", actor, u.ID, map[string]any{"with_password": spec.PasswordHash != ""})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Find returns a user by ID or by email.
func (d *Users) Find(ctx context.Context, ref string) (*storage.User, error) {
	if _, err := uuid.Parse(ref); err == nil {
		return d.store.GetUser(ctx, ref)
	}
	return d.store.GetUserByEmail(ctx, ref)
}

// List returns one page of users.
func (d *Users) List(ctx context.Context, p storage.Page) ([]storage.User, string, error) {
	return d.store.ListUsers(ctx, p)
}

// SetDisabled disables a user (ending every browser session) or enables one.
func (d *Users) SetDisabled(ctx context.Context, ref string, disabled bool, actor string) (*storage.User, error) {
	var out *storage.User
	err := d.store.InTx(ctx, func(ctx context.Context) error {
		u, err := d.Find(ctx, ref)
		if err != nil {
			return err
		}
		if err := d.store.SetUserDisabled(ctx, u.ID, disabled); err != nil {
			return err
		}
		typ, details := "user.enabled", map[string]any{}
		if disabled {
			n, err := d.store.RevokeUserBrowserSessions(ctx, u.ID, "")
			if err != nil {
				return err
			}
			typ, details = "user.disabled", map[string]any{"sessions_ended": n}
		}
		if err := d.record(ctx, typ, actor, u.ID, details); err != nil {
			return err
		}
		out, err = d.store.GetUser(ctx, u.ID)
		return err
	})
	return out, err
}

// Delete removes a user and everything that cascades from it.
func (d *Users) Delete(ctx context.Context, ref, actor string) (*storage.User, error) {
	var out *storage.User
	err := d.store.InTx(ctx, func(ctx context.Context) error {
		u, err := d.Find(ctx, ref)
		if err != nil {
			return err
		}
		if err := d.store.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		out = u
		return d.record(ctx, "user.deleted", actor, u.ID, nil)
	})
	return out, err
}

func (d *Users) record(ctx context.Context, typ, actor, userID string, details map[string]any) error {
	return d.store.RecordAuditEvent(ctx, &storage.AuditEvent{
		Type: typ, Actor: actor, Subject: userID, RequestID: web.RequestID(ctx), Details: details,
	})
}

// normalizeEmail accepts one bare address (RFC 5322 addr-spec) of at most 254
// characters and returns it trimmed.
func normalizeEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("email is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") && !strings.HasSuffix(s, "@localhost") {
		return "", fmt.Errorf("email %q is not a valid address", s)
	}
	return s, nil
}

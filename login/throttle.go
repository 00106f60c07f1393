package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/madfam-org/janua/storage"
)

// Limits are the abuse controls of sign-in and sign-up, kept in the shared
// hot state so every instance enforces them together (OWASP Authentication
// Cheat Sheet, "Protect Against Automated Attacks"; NIST SP 800-63B §5.2.2).
type Limits struct {
	// IPRate is how many sign-in (and, counted apart, sign-up) posts one IP
	// address may make per IPWindow.
	IPRate   int
	IPWindow time.Duration
	// LockoutFailures failed sign-ins to one account within LockoutWindow
	// lock it for LockoutDuration; 0 disables the lockout. Failures are
	// counted per email address whether or not an account has it, so a
	// lockout tells nothing about which accounts exist.
	LockoutFailures int
	LockoutWindow   time.Duration
	LockoutDuration time.Duration
}

// DefaultLimits: 20 posts a minute per IP; 5 failures in 15 minutes lock an
// account for 15 minutes.
func DefaultLimits() Limits {
	return Limits{IPRate: 20, IPWindow: time.Minute, LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute}
}

// throttle applies Limits through the hot state.
type throttle struct {
	hot storage.HotState
	l   Limits
	now func() time.Time
}

// allowIP counts one post of action ("login", "signup") from ip; when it is
// over the limit it returns how long to wait.
func (t throttle) allowIP(ctx context.Context, action, ip string) (retryAfter time.Duration, err error) {
	if t.l.IPRate <= 0 {
		return 0, nil
	}
	d, err := t.hot.Allow(ctx, "login/ip/"+action+"/"+ip, t.l.IPRate, t.l.IPWindow)
	if err != nil || d.Allowed {
		return 0, err
	}
	return max(d.RetryAfter, time.Second), nil
}

// locked returns how much longer the account of email stays locked (0 when
// it is not).
func (t throttle) locked(ctx context.Context, email string) (time.Duration, error) {
	return t.lockedKey(ctx, accountKey(email))
}

// failed counts a failed sign-in to the account of email and reports
// whether this failure locked it.
func (t throttle) failed(ctx context.Context, email string) (lockedNow bool, err error) {
	return t.failedKey(ctx, accountKey(email))
}

// succeeded forgets the account's failures.
func (t throttle) succeeded(ctx context.Context, email string) error {
	return t.succeededKey(ctx, accountKey(email))
}

// lockedKey returns how much longer what key names (an account's password,
// a user's second factors) stays locked (0 when it is not).
func (t throttle) lockedKey(ctx context.Context, key string) (time.Duration, error) {
	if t.l.LockoutFailures <= 0 {
		return 0, nil
	}
	v, err := t.hot.Get(ctx, lockKey(key))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	until, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, nil
	}
	if left := time.UnixMilli(until).Sub(t.now()); left > 0 {
		return left, nil
	}
	return 0, nil
}

// failedKey counts a failure against key and reports whether it locked it.
func (t throttle) failedKey(ctx context.Context, key string) (lockedNow bool, err error) {
	if t.l.LockoutFailures <= 0 {
		return false, nil
	}
	d, err := t.hot.Allow(ctx, failKey(key), t.l.LockoutFailures, t.l.LockoutWindow)
	if err != nil {
		return false, err
	}
	if d.Allowed && d.Remaining > 0 {
		return false, nil
	}
	until := t.now().Add(t.l.LockoutDuration).UnixMilli()
	if err := t.hot.Put(ctx, lockKey(key), []byte(strconv.FormatInt(until, 10)), t.l.LockoutDuration); err != nil {
		return false, err
	}
	// The lock now speaks for these failures; once it lapses the count
	// starts afresh.
	return true, t.hot.ResetRate(ctx, failKey(key))
}

// attemptKey counts an attempt against key before it is checked, so that
// guesses sent at the same moment cannot outrun the limit: of any burst,
// only LockoutFailures attempts go on, and the one that uses the allowance
// up locks key at once (its success lifts the lock: succeededKey). It
// returns how long key stays locked when this attempt may not go on.
func (t throttle) attemptKey(ctx context.Context, key string) (time.Duration, error) {
	if t.l.LockoutFailures <= 0 {
		return 0, nil
	}
	if wait, err := t.lockedKey(ctx, key); err != nil || wait > 0 {
		return wait, err
	}
	d, err := t.hot.Allow(ctx, failKey(key), t.l.LockoutFailures, t.l.LockoutWindow)
	if err != nil || (d.Allowed && d.Remaining > 0) {
		return 0, err
	}
	until := t.now().Add(t.l.LockoutDuration).UnixMilli()
	if err := t.hot.Put(ctx, lockKey(key), []byte(strconv.FormatInt(until, 10)), t.l.LockoutDuration); err != nil {
		return 0, err
	}
	if !d.Allowed {
		return t.l.LockoutDuration, nil
	}
	return 0, nil // the last attempt allowed goes on, under the lock
}

// succeededKey forgets key's failures and lifts a lock its last allowed
// attempt set (attemptKey).
func (t throttle) succeededKey(ctx context.Context, key string) error {
	if t.l.LockoutFailures <= 0 {
		return nil
	}
	if err := t.hot.ResetRate(ctx, failKey(key)); err != nil {
		return err
	}
	return t.hot.Delete(ctx, lockKey(key))
}

// accountKey names an account in hot-state keys by the SHA-256 of its email
// key (the address itself never reaches Redis).
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(storage.EmailKey(email)))
	return hex.EncodeToString(sum[:16])
}

func failKey(key string) string { return "login/fail/" + key }
func lockKey(key string) string { return "login/lock/" + key }

// waitMinutes rounds a wait up to whole minutes (at least one) for a page.
func waitMinutes(d time.Duration) int {
	return max(1, int((d+time.Minute-1)/time.Minute))
}

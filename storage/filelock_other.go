//go:build !unix

package storage

import "context"

// lockFile is a no-op where flock is unavailable: SQLite's own locking is
// then the only guard, which suffices for one process.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	return func() {}, nil
}

package storage

import "time"

// RotateStatement exposes rotateStatement (without rows) to the external
// tests.
func RotateStatement(key, requestID string, now time.Time) (string, []any) {
	q, vars, _ := rotateStatement(key, requestID, now, nil)
	return q, vars
}

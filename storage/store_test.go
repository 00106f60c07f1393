package storage_test

import (
	"testing"

	"github.com/madfam-org/janua/storage/storagetest"
)

// TestStore runs the storage conformance suite on every available backend.
func TestStore(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			storagetest.Run(t, b)
		})
	}
}

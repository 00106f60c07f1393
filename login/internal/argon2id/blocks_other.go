//go:build !linux

package argon2id

// allocBlocks allocates n blocks on the Go heap.
func allocBlocks(_ *Memory, n uint32) []block {
	return make([]block, n)
}

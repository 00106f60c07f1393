//go:build !linux

package argon2id

// allocBlocks allocates n blocks on the Go heap.
func allocBlocks(_ *Memory, n uint32) (blocks []block, mapped bool) {
	return make([]block, n), false
}

// releaseBlocks is only for mapped blocks, which only Linux has.
func releaseBlocks([]block) bool { return false }

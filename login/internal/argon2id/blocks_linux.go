//go:build linux

package argon2id

import (
	"runtime"
	"syscall"
	"unsafe"
)

// allocBlocks maps n blocks of anonymous memory outside the Go heap, so
// that memory kept between hashes neither counts towards the collector's
// heap goal (which would let garbage grow by as much again) nor is scanned.
// The kernel is asked for transparent huge pages (madvise(2)
// MADV_HUGEPAGE): Argon2's data-dependent reads land anywhere in the
// memory, and 2 MiB pages spare most of their TLB misses. owner's cleanup
// unmaps the memory once owner is unreachable. On failure it falls back to
// the Go heap.
func allocBlocks(owner *Memory, n uint32) []block {
	size := int(n) * int(unsafe.Sizeof(block{}))
	raw, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]block, n)
	}
	_ = syscall.Madvise(raw, syscall.MADV_HUGEPAGE) // advice only
	runtime.AddCleanup(owner, func(raw []byte) { _ = syscall.Munmap(raw) }, raw)
	return unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(raw))), n)
}

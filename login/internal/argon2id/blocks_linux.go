//go:build linux

package argon2id

import (
	"runtime"
	"syscall"
	"unsafe"
)

// madvDontDump is MADV_DONTDUMP, which package syscall does not name.
const madvDontDump = 0x10

// allocBlocks maps n blocks of anonymous memory outside the Go heap, so
// that memory kept between hashes neither counts towards the collector's
// heap goal (which would let garbage grow by as much again) nor is scanned.
// The kernel is asked for transparent huge pages (madvise(2)
// MADV_HUGEPAGE) on a range aligned to them: Argon2's data-dependent reads
// land anywhere in the memory, and 2 MiB pages spare most of their TLB
// misses (the last page is whole, so up to 2 MiB more is resident). owner's
// cleanup unmaps the memory once owner is unreachable. On failure it falls
// back to the Go heap (mapped false).
func allocBlocks(owner *Memory, n uint32) (blocks []block, mapped bool) {
	const hugePage = 2 << 20
	size := int(n) * int(unsafe.Sizeof(block{}))
	huge := (size + hugePage - 1) / hugePage * hugePage
	raw, err := syscall.Mmap(-1, 0, huge+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]block, n), false
	}
	skip := (hugePage - int(uintptr(unsafe.Pointer(unsafe.SliceData(raw))))%hugePage) % hugePage
	_ = syscall.Madvise(raw[skip:skip+huge], syscall.MADV_HUGEPAGE) // advice only
	// Password-derived blocks stay in a kept buffer: keep them out of core
	// dumps (madvise(2) MADV_DONTDUMP, Linux 3.4).
	_ = syscall.Madvise(raw, madvDontDump)
	runtime.AddCleanup(owner, func(raw []byte) { _ = syscall.Munmap(raw) }, raw)
	return unsafe.Slice((*block)(unsafe.Pointer(&raw[skip])), n), true
}

// releaseBlocks frees the pages of mapped blocks (madvise(2)
// MADV_DONTNEED: the mapping stays, and reads as zeros until written) and
// reports whether it did.
func releaseBlocks(b []block) bool {
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b)*int(unsafe.Sizeof(block{})))
	return syscall.Madvise(raw, syscall.MADV_DONTNEED) == nil
}

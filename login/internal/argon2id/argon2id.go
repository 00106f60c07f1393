// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package argon2id

import (
	"encoding/binary"
	"runtime"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// Version is the Argon2 version implemented, 0x13 (RFC 9106 §3.1).
const Version = 0x13

// argon2idType is y = 2, Argon2id (RFC 9106 §3.1).
const argon2idType = 2

const (
	blockLength = 128 // 64-bit words in a 1024-byte block
	syncPoints  = 4   // SL, slices per pass (RFC 9106 §3.4)
)

// block is one 1 KiB memory block, as 128 little-endian words.
type block [blockLength]uint64

// Memory is block memory reused from one hash to the next. It keeps up to
// the size it was made for; a hash that needs more memory allocates it for
// itself alone. A Memory serves one hash at a time.
type Memory struct {
	keep   uint32 // blocks kept between hashes
	blocks []block
	mapped bool // blocks are allocBlocks' mapping, outside the Go heap
}

// Trim gives the kept blocks' memory back to the operating system; the
// next hash takes it again (fresh zero pages, or a new allocation). It
// must not run during a hash.
func (m *Memory) Trim() {
	if m == nil || len(m.blocks) == 0 {
		return
	}
	if m.mapped && releaseBlocks(m.blocks) {
		return
	}
	m.blocks, m.mapped = nil, false
}

// NewMemory returns a Memory that keeps kib KiB (1 KiB blocks) between
// hashes. The blocks are allocated by the first hash that uses them.
func NewMemory(kib uint32) *Memory {
	return &Memory{keep: kib}
}

// Key derives keyLen bytes from password and salt with Argon2id (RFC 9106
// §3.2): passes t over memory KiB in parallelism lanes. It returns what
// golang.org/x/crypto/argon2.IDKey returns for the same arguments. m may be
// nil: the blocks are then allocated for this call. t and parallelism must
// be at least 1.
func (m *Memory) Key(password, salt []byte, t, memory uint32, parallelism uint8, keyLen uint32) []byte {
	return m.deriveKey(password, salt, nil, nil, t, memory, parallelism, keyLen)
}

// deriveKey is Argon2id with the optional secret K and associated data X
// (RFC 9106 §3.2 step 1), which the known-answer tests of RFC 9106 §5.3 use.
func (m *Memory) deriveKey(password, salt, secret, data []byte, t, memory uint32, parallelism uint8, keyLen uint32) []byte {
	if t < 1 {
		panic("argon2id: number of passes too small")
	}
	if parallelism < 1 {
		panic("argon2id: parallelism too low")
	}
	lanes := uint32(parallelism)
	h0 := initHash(password, salt, secret, data, t, memory, lanes, keyLen)

	// RFC 9106 §3.2 step 2: m' = 4·p·⌊m / 4p⌋, at least 2·SL·p.
	memory = memory / (syncPoints * lanes) * (syncPoints * lanes)
	if memory < 2*syncPoints*lanes {
		memory = 2 * syncPoints * lanes
	}
	B := m.take(memory)
	initBlocks(B, &h0, memory, lanes)
	processBlocks(B, t, memory, lanes)
	key := extractKey(B, memory, lanes, keyLen)
	runtime.KeepAlive(m) // B may be m's memory, unmapped when m is collected
	return key
}

// take returns n blocks: m's own when it keeps that many, else new ones.
// The blocks are not zeroed: every one is written before it is read.
func (m *Memory) take(n uint32) []block {
	if m == nil || n > m.keep {
		return make([]block, n)
	}
	if uint32(len(m.blocks)) < m.keep {
		m.blocks, m.mapped = allocBlocks(m, m.keep)
	}
	return m.blocks[:n]
}

// initHash is H_0 (RFC 9106 §3.2 step 1), 64 bytes followed by room for
// the two little-endian words of step 3.
func initHash(password, salt, key, data []byte, t, memory, lanes, keyLen uint32) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], lanes)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], t)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(argon2idType))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of every lane (RFC 9106 §3.2
// steps 3 and 4).
func initBlocks(B []block, h0 *[blake2b.Size + 8]byte, memory, lanes uint32) {
	var block0 [1024]byte
	for lane := uint32(0); lane < lanes; lane++ {
		j := lane * (memory / lanes)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
}

// processBlocks makes the t passes over memory (RFC 9106 §3.2 steps 5 and
// 6), slice by slice; the lanes of a slice run in parallel when there are
// several.
func processBlocks(B []block, t, memory, lanes uint32) {
	for n := uint32(0); n < t; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			if lanes == 1 {
				processSegment(B, n, slice, 0, t, memory, lanes)
				continue
			}
			var wg sync.WaitGroup
			for lane := uint32(0); lane < lanes; lane++ {
				wg.Go(func() { processSegment(B, n, slice, lane, t, memory, lanes) })
			}
			wg.Wait()
		}
	}
}

// processSegment computes the blocks of one lane in one slice of pass n.
// Argon2id addresses data-independently (Argon2i, RFC 9106 §3.4.1.2) in the
// first half of the first pass and data-dependently (Argon2d, §3.4.1.1)
// after that.
func processSegment(B []block, n, slice, lane, t, memory, lanes uint32) {
	laneLength := memory / lanes
	segmentLength := laneLength / syncPoints
	independent := n == 0 && slice < syncPoints/2

	var addresses, in block
	var s scratch
	if independent {
		in[0] = uint64(n)
		in[1] = uint64(lane)
		in[2] = uint64(slice)
		in[3] = uint64(memory)
		in[4] = uint64(t)
		in[5] = uint64(argon2idType)
	}

	index := uint32(0)
	if n == 0 && slice == 0 {
		index = 2 // the first two blocks are initBlocks'
		if independent {
			in[6]++
			processBlock(&addresses, &in, &s.zero, &s)
			processBlock(&addresses, &addresses, &s.zero, &s)
		}
	}

	offset := lane*laneLength + slice*segmentLength + index
	var random uint64
	for index < segmentLength {
		prev := offset - 1
		if index == 0 && slice == 0 {
			prev += laneLength // the last block of the lane
		}
		if independent {
			if index%blockLength == 0 {
				in[6]++
				processBlock(&addresses, &in, &s.zero, &s)
				processBlock(&addresses, &addresses, &s.zero, &s)
			}
			random = addresses[index%blockLength]
		} else {
			random = B[prev][0]
		}
		newOffset := indexAlpha(random, laneLength, segmentLength, lanes, n, slice, lane, index)
		if n == 0 {
			// The first pass overwrites: B holds whatever the last
			// hash left (x/crypto XORs into fresh zeroed memory).
			processBlock(&B[offset], &B[prev], &B[newOffset], &s)
		} else {
			processBlockXOR(&B[offset], &B[prev], &B[newOffset], &s)
		}
		index, offset = index+1, offset+1
	}
}

// extractKey XORs the last block of every lane into C and returns H'(C)
// (RFC 9106 §3.2 step 7).
func extractKey(B []block, memory, lanes, keyLen uint32) []byte {
	laneLength := memory / lanes
	for lane := uint32(0); lane < lanes-1; lane++ {
		for i, v := range B[(lane*laneLength)+laneLength-1] {
			B[memory-1][i] ^= v
		}
	}

	var last [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(last[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, last[:])
	// The kept memory outlives the hash: the blocks the key is drawn from
	// would give it back (and the key is the stored hash of the password
	// just checked), so they do not stay behind.
	clear(last[:])
	for lane := range lanes {
		B[lane*laneLength+laneLength-1] = block{}
	}
	return key
}

// indexAlpha maps J_1, J_2 to the reference block (RFC 9106 §3.4.1 and
// §3.4.2): the lane, then the position among the blocks allowed.
func indexAlpha(rand uint64, laneLength, segmentLength, lanes, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % lanes
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segmentLength, ((slice+1)%syncPoints)*segmentLength
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segmentLength, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, laneLength)
}

// phi is the non-uniform mapping of J_1 onto the reference set (RFC 9106
// §3.4.2).
func phi(rand, m, s uint64, lane, laneLength uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*laneLength + uint32((s+m-(p+1))%uint64(laneLength))
}

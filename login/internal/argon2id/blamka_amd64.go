// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

//go:build amd64 && gc && !purego

package argon2id

import "golang.org/x/sys/cpu"

//go:noescape
func mixBlocksSSE2(out, a, b, c *block)

//go:noescape
func xorBlocksSSE2(out, a, b, c *block)

//go:noescape
func blamkaSSE4(b *block)

// processBlockSSE is G (RFC 9106 §3.5) with SSE2 for the XORs and, when the
// processor has SSE4.1, for the permutation P too.
func processBlockSSE(out, in1, in2 *block, s *scratch, xor bool) {
	t := &s.t
	mixBlocksSSE2(t, in1, in2, &s.zero)
	if cpu.X86.HasSSE41 {
		blamkaSSE4(t)
	} else {
		for i := 0; i < blockLength; i += 16 {
			blamkaGeneric(
				&t[i+0], &t[i+1], &t[i+2], &t[i+3],
				&t[i+4], &t[i+5], &t[i+6], &t[i+7],
				&t[i+8], &t[i+9], &t[i+10], &t[i+11],
				&t[i+12], &t[i+13], &t[i+14], &t[i+15],
			)
		}
		for i := 0; i < blockLength/8; i += 2 {
			blamkaGeneric(
				&t[i], &t[i+1], &t[16+i], &t[16+i+1],
				&t[32+i], &t[32+i+1], &t[48+i], &t[48+i+1],
				&t[64+i], &t[64+i+1], &t[80+i], &t[80+i+1],
				&t[96+i], &t[96+i+1], &t[112+i], &t[112+i+1],
			)
		}
	}
	if xor {
		xorBlocksSSE2(out, in1, in2, t)
	} else {
		mixBlocksSSE2(out, in1, in2, t)
	}
}

// processBlock is out = G(in1, in2) (RFC 9106 §3.5).
func processBlock(out, in1, in2 *block, s *scratch) {
	processBlockSSE(out, in1, in2, s, false)
}

// processBlockXOR is out ^= G(in1, in2), the passes after the first.
func processBlockXOR(out, in1, in2 *block, s *scratch) {
	processBlockSSE(out, in1, in2, s, true)
}

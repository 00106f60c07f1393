// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

//go:build !amd64 || purego || !gc

package argon2id

// processBlock is out = G(in1, in2) (RFC 9106 §3.5).
func processBlock(out, in1, in2 *block, s *scratch) {
	processBlockGeneric(out, in1, in2, &s.t, false)
}

// processBlockXOR is out ^= G(in1, in2), the passes after the first.
func processBlockXOR(out, in1, in2 *block, s *scratch) {
	processBlockGeneric(out, in1, in2, &s.t, true)
}

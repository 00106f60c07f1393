// Package argon2id is Argon2id (RFC 9106, version 0x13) computing in block
// memory that the caller keeps from one hash to the next.
//
// golang.org/x/crypto/argon2 allocates the whole memory (m KiB) on every
// call: at the OWASP cost of m=19 MiB a sign-in allocates 19 MiB that the
// runtime zeroes first and the garbage collector reclaims later, so the
// process's memory follows the rate of sign-ins rather than how many hash
// at once. Here a Memory holds the blocks; login keeps one per concurrent
// hash (login.Passwords), so that resident memory is bounded by the
// concurrency and a hash costs its compression function and little else.
// Reused memory needs no zeroing: the first pass writes every block before
// any block is read (RFC 9106 §3.2 steps 5 and 6; the XOR with the old block
// is for later passes only).
//
// The code follows golang.org/x/crypto/argon2 (v0.58.0): argon2id.go,
// blake2b.go and blamka_generic.go are adapted from its argon2.go,
// blake2b.go and blamka_generic.go, blamka_amd64.s is copied unchanged, and
// the known-answer tests are its and RFC 9106 §5.3's. Copyright 2017 The Go
// Authors; BSD-style licence in the LICENSE file of this directory. Only
// Argon2id is kept: Argon2i and Argon2d are not used for passwords here.
package argon2id

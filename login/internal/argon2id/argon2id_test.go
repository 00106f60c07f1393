package argon2id

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"golang.org/x/crypto/argon2"
)

// RFC 9106 §5.3: Argon2id with a secret and associated data, t=3, m=32 KiB,
// p=4 (also x/crypto's testArgon2id).
func TestRFC9106Vector(t *testing.T) {
	password := bytes.Repeat([]byte{0x01}, 32)
	salt := bytes.Repeat([]byte{0x02}, 16)
	secret := bytes.Repeat([]byte{0x03}, 8)
	ad := bytes.Repeat([]byte{0x04}, 12)
	want := "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
	for _, m := range []*Memory{nil, NewMemory(32), dirty(t, 64)} {
		if got := hex.EncodeToString(m.deriveKey(password, salt, secret, ad, 3, 32, 4, 32)); got != want {
			t.Errorf("RFC 9106 §5.3 (memory %v): %s, want %s", m != nil, got, want)
		}
	}
}

// The Argon2id vectors of x/crypto/argon2's TestVectors, generated with the
// reference implementation's command line.
func TestReferenceVectors(t *testing.T) {
	for _, v := range []struct {
		t, m uint32
		p    uint8
		hash string
	}{
		{1, 64, 1, "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb"},
		{2, 64, 1, "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7"},
		{2, 64, 2, "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362"},
		{3, 256, 2, "4668d30ac4187e6878eedeacf0fd83c5a0a30db2cc16ef0b"},
		{4, 4096, 4, "145db9733a9f4ee43edf33c509be96b934d505a4efb33c5a"},
		{4, 1024, 8, "8dafa8e004f8ea96bf7c0f93eecf67a6047476143d15577f"},
		{2, 64, 3, "4a15b31aec7c2590b87d1f520be7d96f56658172deaa3079"},
		{3, 1024, 6, "1640b932f4b60e272f5d2207b9a9c626ffa1bd88d2349016"},
	} {
		mem := dirty(t, 4096)
		got := hex.EncodeToString(mem.Key([]byte("password"), []byte("somesalt"), v.t, v.m, v.p, 24))
		if got != v.hash {
			t.Errorf("t=%d m=%d p=%d: %s, want %s", v.t, v.m, v.p, got, v.hash)
		}
	}
}

// For many parameter sets, one Memory reused from hash to hash (so each
// hash starts on the blocks of the last, of other parameters) and no
// Memory at all both give x/crypto/argon2.IDKey's output.
func TestMatchesXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	mem := NewMemory(2048)
	for i := range 60 {
		tt := 1 + r.Uint32N(4)
		p := uint8(1 + r.IntN(5))
		m := 8*uint32(p) + r.Uint32N(2500) // some above what mem keeps
		keyLen := []uint32{16, 32, 64, 65, 100}[r.IntN(5)]
		password := make([]byte, r.IntN(80))
		salt := make([]byte, 8+r.IntN(24))
		fillRandom(r, password)
		fillRandom(r, salt)
		name := fmt.Sprintf("%d: t=%d m=%d p=%d len=%d", i, tt, m, p, keyLen)
		want := argon2.IDKey(password, salt, tt, m, p, keyLen)
		if got := mem.Key(password, salt, tt, m, p, keyLen); !bytes.Equal(got, want) {
			t.Errorf("%s, reused memory: %x, want %x", name, got, want)
		}
		if got := (*Memory)(nil).Key(password, salt, tt, m, p, keyLen); !bytes.Equal(got, want) {
			t.Errorf("%s, no memory: %x, want %x", name, got, want)
		}
	}
	// The OWASP cost login uses, on memory a smaller hash left dirty.
	mem = dirty(t, 19*1024)
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	if got, want := mem.Key(password, salt, 2, 19*1024, 1, 32), argon2.IDKey(password, salt, 2, 19*1024, 1, 32); !bytes.Equal(got, want) {
		t.Errorf("m=19 MiB t=2 p=1: %x, want %x", got, want)
	}
}

// The compression function gives the same blocks on every code path (the
// assembly on amd64 and the portable Go everywhere).
func TestProcessBlockMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		var in1, in2, out, want block
		var s scratch
		for i := range in1 {
			in1[i], in2[i], out[i], s.t[i] = r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64() // dirty scratch too
		}
		want = out
		processBlockGeneric(&want, &in1, &in2, &s.t, false)
		got := out
		processBlock(&got, &in1, &in2, &s)
		if got != want {
			t.Fatal("processBlock differs from processBlockGeneric")
		}
		want = out
		processBlockGeneric(&want, &in1, &in2, &s.t, true)
		got = out
		processBlockXOR(&got, &in1, &in2, &s)
		if got != want {
			t.Fatal("processBlockXOR differs from processBlockGeneric")
		}
	}
}

// A hash that fits the Memory allocates none of its blocks again; one that
// does not fit leaves the Memory as it was.
func TestMemoryIsReused(t *testing.T) {
	const kib = 4096
	mem := NewMemory(kib)
	mem.Key([]byte("pw"), []byte("saltsalt"), 1, kib, 1, 32) // allocates the blocks
	first := &mem.blocks[0]
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	if n := allocated(func() { mem.Key([]byte("pw"), []byte("saltsalt"), 2, kib, 1, 32) }); n > kib*1024/8 {
		t.Errorf("a hash on kept memory allocated %d bytes", n)
	}
	mem.Key([]byte("pw"), []byte("saltsalt"), 1, 2*kib, 1, 32)
	if len(mem.blocks) != kib || &mem.blocks[0] != first {
		t.Errorf("a larger hash replaced the kept blocks (%d blocks)", len(mem.blocks))
	}
}

// dirty is a Memory of kib KiB whose blocks hold another hash's data.
func dirty(t *testing.T, kib uint32) *Memory {
	t.Helper()
	m := NewMemory(kib)
	m.Key([]byte("another password"), []byte("another salt"), 1, kib, 1, 32)
	return m
}

func fillRandom(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// The kept memory does not keep what the key is drawn from: after a hash
// the last block of every lane is zero (the rest of the memory cannot give
// the key back without it).
func TestKeyBlocksCleared(t *testing.T) {
	for _, lanes := range []uint8{1, 4} {
		m := NewMemory(64)
		key := m.Key([]byte("password"), []byte("somesalt"), 2, 64, lanes, 32)
		memory := uint32(64) / (syncPoints * uint32(lanes)) * (syncPoints * uint32(lanes))
		laneLength := memory / uint32(lanes)
		for lane := range uint32(lanes) {
			if m.blocks[lane*laneLength+laneLength-1] != (block{}) {
				t.Fatalf("%d lanes: lane %d's last block is still in the kept memory", lanes, lane)
			}
		}
		if again := m.Key([]byte("password"), []byte("somesalt"), 2, 64, lanes, 32); string(again) != string(key) {
			t.Fatalf("%d lanes: the next hash on the same memory differs", lanes)
		}
	}
}

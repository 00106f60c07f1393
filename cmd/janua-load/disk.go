package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"
)

// diskCmd measures how long the machine's disk takes to make a small write
// durable: the wait each database commit has in it (PostgreSQL flushes its
// write-ahead log with fdatasync before a commit returns; SQLite, in WAL mode
// with synchronous=NORMAL, only at checkpoints). A p99 latency target of a
// few milliseconds holds only on a disk whose flushes stay far below it, so
// make bench records this next to its figures.
func diskCmd(stdout io.Writer) *cobra.Command {
	var dir string
	var duration time.Duration
	var limit int
	cmd := &cobra.Command{
		Use:   "disk --dir DIR",
		Short: "Time 8 KiB writes each followed by fdatasync in DIR (as a database commit flushes its log) and print their latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if duration <= 0 || duration > time.Minute {
				return errors.New("--duration must be positive and at most 1m")
			}
			if limit <= 0 || limit > 1_000_000 {
				return errors.New("--count must be between 1 and 1000000")
			}
			p, err := probeDisk(cmd.Context(), dir, duration, limit)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, p)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", os.TempDir(), "directory on the filesystem to measure (a file is created and removed in it)")
	cmd.Flags().DurationVar(&duration, "duration", 5*time.Second, "measure for at most this long")
	cmd.Flags().IntVar(&limit, "count", 200_000, "measure at most this many flushes")
	return cmd
}

// diskProbe is the latency of durable 8 KiB writes.
type diskProbe struct {
	N                   int
	P50, P99, P999, Max time.Duration
	Over1ms, Over10ms   int
	Elapsed             time.Duration
}

func (p diskProbe) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("%d flushes of 8 KiB (write + fdatasync) in %.1f s: p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms; %d over 1 ms, %d over 10 ms",
		p.N, p.Elapsed.Seconds(), ms(p.P50), ms(p.P99), ms(p.P999), ms(p.Max), p.Over1ms, p.Over10ms)
}

// probeDisk rewrites 8 KiB blocks of a 512 KiB file in dir, each followed by
// fdatasync, for at most duration and limit flushes, and removes the file.
func probeDisk(ctx context.Context, dir string, duration time.Duration, limit int) (diskProbe, error) {
	f, err := os.CreateTemp(dir, "janua-load-disk-*")
	if err != nil {
		return diskProbe{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 8<<10)
	for i := range block {
		block[i] = byte(i)
	}
	const blocks = 64
	// Allocate the file first, so that the flushes measured rewrite blocks
	// as a log's recycled segments are, without growing the file.
	for i := range blocks {
		if _, err := f.WriteAt(block, int64(i*len(block))); err != nil {
			return diskProbe{}, err
		}
	}
	if err := f.Sync(); err != nil {
		return diskProbe{}, err
	}
	lat := make([]time.Duration, 0, min(limit, 1<<16))
	start := time.Now()
	for i := 0; i < limit && time.Since(start) < duration; i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return diskProbe{}, ctx.Err()
		}
		t := time.Now()
		if _, err := f.WriteAt(block, int64((i%blocks)*len(block))); err != nil {
			return diskProbe{}, err
		}
		if err := fdatasync(f); err != nil {
			return diskProbe{}, fmt.Errorf("fdatasync %s: %w", filepath.Base(f.Name()), err)
		}
		lat = append(lat, time.Since(t))
	}
	return summarizeDisk(lat, time.Since(start)), nil
}

func summarizeDisk(lat []time.Duration, elapsed time.Duration) diskProbe {
	p := diskProbe{N: len(lat), Elapsed: elapsed}
	if len(lat) == 0 {
		return p
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration {
		return lat[min(len(lat)-1, int(math.Ceil(q*float64(len(lat))))-1)]
	}
	p.P50, p.P99, p.P999, p.Max = at(0.50), at(0.99), at(0.999), lat[len(lat)-1]
	for _, d := range lat {
		if d > time.Millisecond {
			p.Over1ms++
		}
		if d > 10*time.Millisecond {
			p.Over10ms++
		}
	}
	return p
}

package storage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// What queues while a batch is written goes out together in the next: the
// rows and jobs of many callers in one transaction (writeJobs), each
// caller answered with its own result, or all with the transaction's
// failure.
func TestGroupCommitBatchesJobsWithRows(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	var mu sync.Mutex
	var calls [][2]int // rows, jobs of each writeJobs call
	failAll := false
	var alone [][]oauth2Session // what write got after the first batch
	write := func(ctx context.Context, rows []oauth2Session) error {
		if rows[0].Signature == "first" {
			close(started)
			<-release
			return nil
		}
		mu.Lock()
		alone = append(alone, rows)
		mu.Unlock()
		return nil
	}
	own := errors.New("the job's own failure")
	batchErr := errors.New("the transaction's failure")
	writeJobs := func(ctx context.Context, rows []oauth2Session, jobs []txJob) ([]error, []error, error) {
		mu.Lock()
		calls = append(calls, [2]int{len(rows), len(jobs)})
		fail := failAll
		mu.Unlock()
		if fail {
			return nil, nil, batchErr
		}
		rowErrs := make([]error, len(rows))
		jobErrs := make([]error, len(jobs))
		for i, j := range jobs {
			jobErrs[i], _ = j(ctx, nil)
		}
		return rowErrs, jobErrs, nil
	}
	g := newGroupCommit(1, write, writeJobs)
	t.Cleanup(g.close)
	ctx := t.Context()

	// The flusher is busy with a first row.
	go func() { _ = g.insert(ctx, oauth2Session{Signature: "first"}) }()
	<-started

	type answer struct {
		i   int
		err error
	}
	answers := make(chan answer, 6)
	group := []oauth2Session{{Signature: "code"}, {Signature: "pkce"}}
	groupJob := func(context.Context, *gorm.DB) (error, error) { return nil, nil }
	for i := range 6 {
		go func() {
			var err error
			switch i {
			case 0, 1:
				err = g.insert(ctx, oauth2Session{Signature: "row"})
			case 5:
				err = g.insertAll(ctx, group, groupJob)
			case 2:
				err = g.run(ctx, func(context.Context, *gorm.DB) (error, error) { return own, nil })
			default:
				err = g.run(ctx, func(context.Context, *gorm.DB) (error, error) { return nil, nil })
			}
			answers <- answer{i, err}
		}()
	}
	waitQueued(t, g, 6)
	close(release)
	for range 6 {
		a := <-answers
		if a.i == 2 && !errors.Is(a.err, own) {
			t.Errorf("the failing job: %v, want its own error", a.err)
		} else if a.i != 2 && a.err != nil {
			t.Errorf("caller %d: %v", a.i, a.err)
		}
	}
	mu.Lock()
	if len(calls) != 1 || calls[0] != [2]int{2, 4} || len(alone) != 0 {
		t.Fatalf("writeJobs calls (rows, jobs): %v, want one of 2 rows and 4 jobs (and no other write: %v)", calls, alone)
	}
	mu.Unlock()

	// Rows to insert all or none, alone in their batch, are one INSERT
	// without a transaction of their own.
	if err := g.insertAll(ctx, group, groupJob); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(calls) != 1 || len(alone) != 1 || len(alone[0]) != 2 {
		t.Fatalf("a lone group: writeJobs calls %v, writes %v; want one write of its 2 rows", calls, alone)
	}
	failAll = true
	mu.Unlock()

	if err := g.run(ctx, func(context.Context, *gorm.DB) (error, error) { return nil, nil }); !errors.Is(err, batchErr) {
		t.Fatalf("a job of a failed transaction: %v, want the transaction's error", err)
	}
}

// waitQueued waits until n items wait in g's queue.
func waitQueued(t *testing.T, g *groupCommit, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(g.in) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d callers queued after 5 s", len(g.in), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A job whose caller gives up while it runs still answers with its own
// result: it may have committed (a rotation whose after-commit work must
// run); a job whose caller gave up before its batch began is not run.
func TestGroupCommitJobAnswersAfterItsCallerGaveUp(t *testing.T) {
	write := func(context.Context, []oauth2Session) error { return nil }
	writeJobs := func(ctx context.Context, rows []oauth2Session, jobs []txJob) ([]error, []error, error) {
		jobErrs := make([]error, len(jobs))
		for i, j := range jobs {
			jobErrs[i], _ = j(ctx, nil)
		}
		return make([]error, len(rows)), jobErrs, nil
	}
	g := newGroupCommit(1, write, writeJobs)
	t.Cleanup(g.close)
	for range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		ran := false
		err := g.run(ctx, func(context.Context, *gorm.DB) (error, error) {
			ran = true
			cancel() // the client went away mid-batch
			return nil, nil
		})
		if err != nil || !ran {
			t.Fatalf("a job that committed, its caller gone: %v (ran %v), want its own nil", err, ran)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := g.run(ctx, func(context.Context, *gorm.DB) (error, error) {
		t.Error("ran the job of a caller that had given up")
		return nil, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a job whose caller gave up first: %v, want context.Canceled", err)
	}
}

// A job's error is its own only when it changed nothing; any other fails
// its batch.
func TestJobOutcome(t *testing.T) {
	used := unchanged{ErrConflict}
	if own, batch := jobOutcome(used); own == nil || batch != nil || !errors.Is(own, ErrConflict) {
		t.Fatalf("a code already used: own %v, batch %v", own, batch)
	}
	failed := errors.New("disk I/O error")
	if own, batch := jobOutcome(failed); own != nil || batch != failed {
		t.Fatalf("a failed statement: own %v, batch %v", own, batch)
	}
}

package storage

import (
	"context"
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Group commit of OAuth 2.0 rows written outside any transaction.
//
// A client_credentials grant (RFC 6749 §4.4) writes exactly one row, its
// access token, and nothing else; so does every token fosite issues outside
// a transaction. Each such INSERT alone is a whole commit: on SQLite a WAL
// append of the table page and its four index pages, on PostgreSQL a round
// trip and a WAL flush. Under load many grants arrive at once, and writing
// them as one multi-row INSERT makes one commit serve them all: the
// database's own group-commit idea, moved up one layer.
//
// Nothing waits on a timer. A flusher takes whatever rows are queued the
// moment it is free (one, when the server is idle) and writes them; rows
// that arrive while it writes form the next batch. A caller returns only
// once its row is committed (or failed), so a token is never handed out
// before its row exists: an introspection or revocation that follows the
// response finds it.

// groupCommitMax bounds one batch: 64 rows × 16 columns stays far below
// SQLite's and PostgreSQL's limits on bound parameters.
const groupCommitMax = 64

// groupCommitTimeout bounds one batch's statement. The flush runs on no
// request's context (one caller giving up must not fail the others), so it
// needs its own bound.
const groupCommitTimeout = 30 * time.Second

// pendingInsert is one caller's row, or its transaction's work (job), and
// where its result goes. done is buffered: a caller that gave up never
// blocks the flusher.
type pendingInsert struct {
	ctx context.Context
	row oauth2Session
	job txJob // when set, row is unused
	// group, with job, is the rows job inserts, all or none: alone in its
	// batch, they are written without a transaction of their own.
	group []oauth2Session
	done  chan error
}

// txJob is a transaction's deferred work run inside a batch's transaction
// (SQLite: oauth2_redeem.go). own is the job's own failure, after which it
// changed nothing (a code already used); err fails the whole batch.
type txJob func(ctx context.Context, db *gorm.DB) (own, err error)

// groupCommit queues rows for its flushers, which run from its creation
// until close.
type groupCommit struct {
	write func(ctx context.Context, rows []oauth2Session) error
	// writeJobs writes rows and runs jobs in one transaction, and returns
	// each row's and each job's own error, or err for all of them.
	writeJobs func(ctx context.Context, rows []oauth2Session, jobs []txJob) (rowErrs, jobErrs []error, err error)
	flushers  int

	in   chan *pendingInsert
	quit chan struct{}
	wg   sync.WaitGroup
	// stopped closes once every flusher has returned: a row queued after
	// the last drain is answered by it.
	stopped chan struct{}

	closeOnce sync.Once
}

// newGroupCommit returns a queue whose flushers call write. flushers is
// how many batches may be in flight at once: one on SQLite, whose single
// connection serialises writes anyway; more on PostgreSQL, where a batch
// waiting on its WAL flush need not hold up the next.
func newGroupCommit(flushers int, write func(ctx context.Context, rows []oauth2Session) error,
	writeJobs func(ctx context.Context, rows []oauth2Session, jobs []txJob) (rowErrs, jobErrs []error, err error)) *groupCommit {
	if flushers < 1 {
		flushers = 1
	}
	g := &groupCommit{
		write:     write,
		writeJobs: writeJobs,
		flushers:  flushers,
		in:        make(chan *pendingInsert, groupCommitMax*flushers),
		quit:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	for range flushers {
		g.wg.Add(1)
		go g.flush()
	}
	return g
}

// insert writes row, together with whatever other rows are queued, and
// returns once it is committed. If ctx ends first insert returns ctx's
// error; the row may still be written, which is harmless: nobody holds the
// token it stands for, and garbage collection removes it at expires_at.
func (g *groupCommit) insert(ctx context.Context, row oauth2Session) error {
	return g.submit(&pendingInsert{ctx: ctx, row: row, done: make(chan error, 1)})
}

// run runs job in a transaction with whatever other rows and jobs are
// queued, and returns once it is committed, with the job's own error or
// the batch's. Unlike insert, once queued it waits for that answer even
// if ctx ends first (the batch's statements have their own bound, and a
// job skipped because its ctx ended is answered at once): a job may commit
// a rotation whose after-commit work (the access token cache's
// invalidations) must then run, and its caller must know.
func (g *groupCommit) run(ctx context.Context, job txJob) error {
	return g.submit(&pendingInsert{ctx: ctx, job: job, done: make(chan error, 1)})
}

// insertAll writes rows, all or none, with whatever else is queued (job
// is their insert as a job of a transaction shared with other work).
func (g *groupCommit) insertAll(ctx context.Context, rows []oauth2Session, job txJob) error {
	return g.submit(&pendingInsert{ctx: ctx, job: job, group: rows, done: make(chan error, 1)})
}

func (g *groupCommit) submit(p *pendingInsert) error {
	ctx := p.ctx
	select {
	case g.in <- p:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.quit:
		return errStoreClosed
	}
	ended := ctx.Done()
	if p.job != nil {
		ended = nil // see run
	}
	select {
	case err := <-p.done:
		return err
	case <-ended:
		return ctx.Err()
	case <-g.stopped:
		select {
		case err := <-p.done:
			return err
		default:
			return errStoreClosed
		}
	}
}

// flush is one flusher: it blocks for a first row, takes every row queued
// behind it (up to groupCommitMax), writes them, and answers each caller.
func (g *groupCommit) flush() {
	defer g.wg.Done()
	batch := make([]*pendingInsert, 0, groupCommitMax)
	rows := make([]oauth2Session, 0, groupCommitMax)
	for {
		batch, rows = batch[:0], rows[:0]
		select {
		case p := <-g.in:
			batch = append(batch, p)
		case <-g.quit:
			g.drain()
			return
		}
	more:
		for len(batch) < groupCommitMax {
			select {
			case p := <-g.in:
				batch = append(batch, p)
			default:
				break more
			}
		}
		// A caller that already gave up does not get its row written.
		live := batch[:0]
		jobs := false
		for _, p := range batch {
			if p.ctx.Err() != nil {
				p.done <- p.ctx.Err()
				continue
			}
			live = append(live, p)
			jobs = jobs || p.job != nil
		}
		if len(live) == 0 {
			continue
		}
		if jobs {
			g.commitJobs(live)
			continue
		}
		for _, p := range live {
			rows = append(rows, p.row)
		}
		g.commit(live, rows)
	}
}

// commitJobs writes a batch that holds jobs: the rows and the jobs in one
// transaction, each caller answered with its own error, or all with the
// transaction's.
func (g *groupCommit) commitJobs(batch []*pendingInsert) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), groupCommitTimeout)
	defer cancel()
	if len(batch) == 1 && batch[0].group != nil {
		// One statement is its own transaction.
		batch[0].done <- g.write(ctx, batch[0].group)
		return
	}
	var rows []oauth2Session
	var jobs []txJob
	for _, p := range batch {
		if p.job != nil {
			jobs = append(jobs, p.job)
		} else {
			rows = append(rows, p.row)
		}
	}
	rowErrs, jobErrs, err := g.writeJobs(ctx, rows, jobs)
	for _, p := range batch {
		switch {
		case err != nil:
			p.done <- err
		case p.job != nil:
			p.done <- jobErrs[0]
			jobErrs = jobErrs[1:]
		default:
			p.done <- rowErrs[0]
			rowErrs = rowErrs[1:]
		}
	}
}

// commit writes rows in one statement. If that fails and the batch holds
// more than one row, each row is retried alone, so that one bad row (a
// client deleted a moment ago, whose foreign key now fails) does not fail
// the grants that share its batch, and each caller gets its own error.
func (g *groupCommit) commit(batch []*pendingInsert, rows []oauth2Session) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), groupCommitTimeout)
	defer cancel()
	err := g.write(ctx, rows)
	if err == nil || len(batch) == 1 || !rowError(err) {
		// Success, or a failure of the batch as a whole (a lost
		// connection, a timeout): every caller gets the same answer, and
		// nothing is retried that might already be committed.
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	for i, p := range batch {
		p.done <- g.write(ctx, rows[i:i+1])
	}
}

// rowError reports whether err is one row's fault (a duplicate key, a
// foreign key or check that refuses it), which retrying the rows one by
// one pins on that row.
func rowError(err error) bool {
	err = mapError(err)
	return errors.Is(err, ErrAlreadyExists) || errors.Is(err, ErrConflict)
}

// drain fails whatever is still queued when the store closes.
func (g *groupCommit) drain() {
	for {
		select {
		case p := <-g.in:
			p.done <- errStoreClosed
		default:
			return
		}
	}
}

// close stops the flushers after their current batch.
func (g *groupCommit) close() {
	g.closeOnce.Do(func() {
		close(g.quit)
		g.wg.Wait()
		close(g.stopped)
	})
}

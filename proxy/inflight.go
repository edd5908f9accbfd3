package proxy

import "sync"

// inflightQueue is the FIFO of one connection's requests awaiting their
// responses. Kafka answers the requests of a connection in order, so the
// queue matches each response to its request; locally answered requests
// take their turn in it.
//
// It is bounded (a reader that gets ahead waits, which pushes back on the
// client) but holds memory only for what is in it. Its writer runs only
// while there is something to answer: the push that finds no writer
// running starts one, and the writer stops when it finds the queue empty,
// so that an idle connection has one goroutine, its reader. It also counts
// requests that were taken but not yet answered, so that the reader can
// wait for the upstream connection to go quiet.
type inflightQueue struct {
	mu       sync.Mutex
	cond     sync.Cond
	items    []pending
	head     int
	max      int
	unserved int  // pushed and not yet done
	writing  bool // a writer runs
	aborted  bool // the writer failed: nobody takes requests any more
}

func newInflightQueue(max int) *inflightQueue {
	q := &inflightQueue{max: max}
	q.cond.L = &q.mu
	return q
}

// push appends p, waiting while the queue is full. It reports false when
// the writer failed, and start when no writer runs: the caller must start
// one.
func (q *inflightQueue) push(p pending) (ok, start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items)-q.head >= q.max && !q.aborted {
		q.cond.Wait()
	}
	if q.aborted {
		return false, false
	}
	q.items = append(q.items, p)
	q.unserved++
	start = !q.writing
	q.writing = true
	return true, start
}

// pop takes the oldest request for the writer. On an empty queue it
// reports false, and the writer stops: the next push starts another.
func (q *inflightQueue) pop() (pending, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		q.writing = false
		q.cond.Broadcast()
		return pending{}, false
	}
	p := q.items[q.head]
	q.items[q.head] = pending{}
	q.head++
	if q.head == len(q.items) {
		// Empty: start over, and let a backlog's memory go.
		q.head = 0
		if cap(q.items) > 4 {
			q.items = nil
		} else {
			q.items = q.items[:0]
		}
	}
	q.cond.Broadcast()
	return p, true
}

// full reports whether a push would wait for room.
func (q *inflightQueue) full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)-q.head >= q.max
}

// waiting reports how many requests are queued and not yet taken.
func (q *inflightQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}

// done records that a taken request has been answered.
func (q *inflightQueue) done() {
	q.mu.Lock()
	q.unserved--
	q.cond.Broadcast()
	q.mu.Unlock()
}

// waitIdle waits until every pushed request has been answered. It reports
// false when the writer failed.
func (q *inflightQueue) waitIdle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.unserved > 0 && !q.aborted {
		q.cond.Wait()
	}
	return !q.aborted
}

// waitWriter waits until no writer runs: every request pushed has been
// answered, or the writer failed.
func (q *inflightQueue) waitWriter() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.writing {
		q.cond.Wait()
	}
}

// abort is called by a writer that stops before the queue is empty (a
// failed write, or the final answer of a connection that closes): it tells
// the reader that nobody takes requests any more.
func (q *inflightQueue) abort() {
	q.mu.Lock()
	q.aborted = true
	q.writing = false
	q.cond.Broadcast()
	q.mu.Unlock()
}

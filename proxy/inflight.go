package proxy

import "sync"

// inflightQueue is the FIFO of one connection's requests awaiting their
// responses. Kafka answers the requests of a connection in order, so the
// queue matches each response to its request; locally answered requests
// take their turn in it.
//
// It is bounded (a reader that gets ahead waits, which pushes back on the
// client) but holds memory only for what is in it, so that an idle
// connection costs nothing here. It also counts requests that were taken
// but not yet answered, so that the reader can wait for the upstream
// connection to go quiet.
type inflightQueue struct {
	mu       sync.Mutex
	cond     sync.Cond
	items    []pending
	head     int
	max      int
	unserved int  // pushed and not yet done
	closed   bool // the reader pushes no more
	aborted  bool // the writer is gone
}

func newInflightQueue(max int) *inflightQueue {
	q := &inflightQueue{max: max}
	q.cond.L = &q.mu
	return q
}

// push appends p, waiting while the queue is full. It reports false when
// the writer is gone.
func (q *inflightQueue) push(p pending) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items)-q.head >= q.max && !q.aborted {
		q.cond.Wait()
	}
	if q.aborted {
		return false
	}
	q.items = append(q.items, p)
	q.unserved++
	q.cond.Broadcast()
	return true
}

// pop takes the oldest request, waiting while the queue is empty. It
// reports false once the queue is closed and empty.
func (q *inflightQueue) pop() (pending, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.cond.Wait()
	}
	if q.head == len(q.items) {
		return pending{}, false
	}
	p := q.items[q.head]
	q.items[q.head] = pending{}
	q.head++
	if q.head == len(q.items) {
		// Empty: start over, and let a large backlog's memory go.
		q.head = 0
		if cap(q.items) > 64 {
			q.items = nil
		} else {
			q.items = q.items[:0]
		}
	}
	q.cond.Broadcast()
	return p, true
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
// false when the writer is gone.
func (q *inflightQueue) waitIdle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.unserved > 0 && !q.aborted {
		q.cond.Wait()
	}
	return !q.aborted
}

// close tells the writer that no more requests come.
func (q *inflightQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// abort tells the reader that nobody takes requests any more.
func (q *inflightQueue) abort() {
	q.mu.Lock()
	q.aborted = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

package proxy

import (
	"testing"
	"time"
)

func TestInflightQueueIsFIFOAndBounded(t *testing.T) {
	q := newInflightQueue(2)
	for i := range int32(2) {
		if !q.push(pending{correlationID: i}) {
			t.Fatal("push refused")
		}
	}
	pushed := make(chan bool)
	go func() { pushed <- q.push(pending{correlationID: 2}) }()
	select {
	case <-pushed:
		t.Fatal("a push beyond the bound did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	for want := range int32(3) {
		p, ok := q.pop()
		if !ok || p.correlationID != want {
			t.Fatalf("pop %d: got %d %v", want, p.correlationID, ok)
		}
		if want == 0 && !<-pushed {
			t.Fatal("waiting push failed")
		}
	}
	q.close()
	if _, ok := q.pop(); ok {
		t.Fatal("pop after close on an empty queue")
	}
}

func TestInflightQueueWaitIdleAndAbort(t *testing.T) {
	q := newInflightQueue(10)
	q.push(pending{})
	q.push(pending{})
	idle := make(chan bool)
	go func() { idle <- q.waitIdle() }()
	q.pop()
	q.done()
	select {
	case <-idle:
		t.Fatal("idle with a request unanswered")
	case <-time.After(20 * time.Millisecond):
	}
	q.pop()
	q.done()
	if !<-idle {
		t.Fatal("waitIdle reported the writer gone")
	}
	q.abort()
	if q.push(pending{}) {
		t.Fatal("push accepted after the writer went away")
	}
	if q.waitIdle() {
		t.Fatal("waitIdle after abort")
	}
}

func TestIdleInflightQueueHoldsNoBacklog(t *testing.T) {
	q := newInflightQueue(1000)
	for range 1000 {
		q.push(pending{})
	}
	for range 1000 {
		q.pop()
	}
	if q.items != nil {
		t.Fatalf("an emptied queue kept %d slots", cap(q.items))
	}
}

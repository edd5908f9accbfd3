package proxy

import (
	"testing"
	"time"
)

func TestInflightQueueIsFIFOAndBounded(t *testing.T) {
	q := newInflightQueue(2)
	for i := range int32(2) {
		if ok, _ := q.push(pending{correlationID: i}); !ok {
			t.Fatal("push refused")
		}
	}
	pushed := make(chan bool)
	go func() { ok, _ := q.push(pending{correlationID: 2}); pushed <- ok }()
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
	if _, ok := q.pop(); ok {
		t.Fatal("pop on an empty queue")
	}
}

// The writer runs only while there is something to answer: the first push
// starts it, a pop on the empty queue stops it, and the next push starts
// another.
func TestInflightQueueStartsAWriterOnlyWhenNoneRuns(t *testing.T) {
	q := newInflightQueue(10)
	steps := []struct {
		op        string
		wantStart bool // for push
		wantOK    bool // for pop
	}{
		{op: "push", wantStart: true},
		{op: "push", wantStart: false},
		{op: "pop", wantOK: true},
		{op: "pop", wantOK: true},
		{op: "push", wantStart: false}, // the writer has not found the queue empty yet
		{op: "pop", wantOK: true},
		{op: "pop", wantOK: false}, // empty: the writer stops
		{op: "push", wantStart: true},
	}
	for i, s := range steps {
		switch s.op {
		case "push":
			if ok, start := q.push(pending{}); !ok || start != s.wantStart {
				t.Fatalf("step %d: push = %v, start %v; want start %v", i, ok, start, s.wantStart)
			}
		case "pop":
			if _, ok := q.pop(); ok != s.wantOK {
				t.Fatalf("step %d: pop = %v, want %v", i, ok, s.wantOK)
			}
		}
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
	if ok, _ := q.push(pending{}); ok {
		t.Fatal("push accepted after the writer went away")
	}
	if q.waitIdle() {
		t.Fatal("waitIdle after abort")
	}
	q.waitWriter() // returns: the writer is gone
}

func TestWaitWriterReturnsOnceTheQueueIsAnswered(t *testing.T) {
	q := newInflightQueue(10)
	q.push(pending{})
	stopped := make(chan struct{})
	go func() { q.waitWriter(); close(stopped) }()
	q.pop()
	q.done()
	select {
	case <-stopped:
		t.Fatal("waitWriter returned while the writer still runs")
	case <-time.After(20 * time.Millisecond):
	}
	q.pop() // empty: the writer stops
	<-stopped
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

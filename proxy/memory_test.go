package proxy

import (
	"testing"
	"time"
)

// fakeRelease is a memoryRelease whose clock and timer the test drives.
type fakeRelease struct {
	*memoryRelease
	now      time.Time
	freed    int
	waits    []time.Duration // of each scheduled release
	schedule func()          // the scheduled release, until it runs
}

func newFakeRelease() *fakeRelease {
	f := &fakeRelease{now: time.Unix(1_000_000, 0)}
	f.memoryRelease = &memoryRelease{
		free: func() { f.freed++ },
		schedule: func(d time.Duration, fn func()) *time.Timer {
			f.waits = append(f.waits, d)
			f.schedule = fn
			return time.NewTimer(time.Hour) // stopped by stop, never fired
		},
		now: func() time.Time { return f.now },
	}
	return f
}

func (f *fakeRelease) open(n int) {
	for range n {
		f.opened()
	}
}

func (f *fakeRelease) close(n int) {
	for range n {
		f.closed()
	}
}

// fire runs the scheduled release, after its wait.
func (f *fakeRelease) fire(t *testing.T) {
	t.Helper()
	if f.schedule == nil {
		t.Fatal("no release scheduled")
	}
	f.now = f.now.Add(f.waits[len(f.waits)-1])
	fn := f.schedule
	f.schedule = nil
	fn()
}

func TestMemoryOfABurstOfClosedConnectionsIsReturned(t *testing.T) {
	tests := []struct {
		name      string
		run       func(t *testing.T, f *fakeRelease)
		wantFreed int
		wantWaits []time.Duration
		wantLeft  bool // a release is still scheduled
	}{
		{
			name:      "a burst of 5000 closes is released once, after a quiet moment",
			run:       func(t *testing.T, f *fakeRelease) { f.open(5000); f.close(5000); f.fire(t) },
			wantFreed: 1, wantWaits: []time.Duration{releaseQuiet},
		},
		{
			name:      "closing fewer than releaseMinDrop releases nothing",
			run:       func(t *testing.T, f *fakeRelease) { f.open(releaseMinDrop - 1); f.close(releaseMinDrop - 1) },
			wantFreed: 0,
		},
		{
			name:      "closing a third of a large peak releases nothing",
			run:       func(t *testing.T, f *fakeRelease) { f.open(9000); f.close(3000) },
			wantFreed: 0,
		},
		{
			name: "reopened connections raise the peak again",
			run: func(t *testing.T, f *fakeRelease) {
				f.open(4000)
				f.close(1500)
				f.open(1500)
				f.close(1999) // 2001 open: more than half of 4000
			},
			wantFreed: 0,
		},
		{
			name: "a second burst soon after waits for releaseEvery",
			run: func(t *testing.T, f *fakeRelease) {
				f.open(3000)
				f.close(3000)
				f.fire(t)
				f.open(3000)
				f.close(3000)
				f.fire(t)
			},
			wantFreed: 2, wantWaits: []time.Duration{releaseQuiet, releaseEvery},
		},
		{
			name: "closes during a scheduled release schedule no other",
			run: func(t *testing.T, f *fakeRelease) {
				f.open(6000)
				f.close(3000)
				f.close(3000)
			},
			wantFreed: 0, wantWaits: []time.Duration{releaseQuiet}, wantLeft: true,
		},
		{
			name: "after stop nothing is scheduled",
			run: func(t *testing.T, f *fakeRelease) {
				f.stop()
				f.open(3000)
				f.close(3000)
			},
			wantFreed: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRelease()
			tt.run(t, f)
			if f.freed != tt.wantFreed {
				t.Errorf("released %d times, want %d", f.freed, tt.wantFreed)
			}
			if len(f.waits) != len(tt.wantWaits) {
				t.Fatalf("scheduled releases after %v, want %v", f.waits, tt.wantWaits)
			}
			for i := range f.waits {
				if f.waits[i] != tt.wantWaits[i] {
					t.Errorf("release %d scheduled after %v, want %v", i, f.waits[i], tt.wantWaits[i])
				}
			}
			if left := f.schedule != nil; left != tt.wantLeft {
				t.Errorf("a release still scheduled: %v, want %v", left, tt.wantLeft)
			}
		})
	}
}

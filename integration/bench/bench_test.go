package main

import (
	"os"
	"testing"
)

func TestParseCPUTicks(t *testing.T) {
	// A command name with spaces and parentheses, as the kernel prints it.
	stat := "4242 (kafka (auth) proxy) S 1 4242 4242 0 -1 4194560 1203 0 0 0 731 129 0 0 20 0 9 0 12345 0 0\n"
	got, err := parseCPUTicks([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if got != 731+129 {
		t.Fatalf("ticks = %d, want %d", got, 731+129)
	}
	if _, err := parseCPUTicks([]byte("4242 (x) S 1 2")); err == nil {
		t.Fatal("short line: no error")
	}
}

func TestParseCPUTicksSelf(t *testing.T) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if _, err := parseCPUTicks(data); err != nil {
		t.Fatal(err)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

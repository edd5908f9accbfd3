package main

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// connCheck is a kgo hook that records every broker connection a client
// opens to an address outside its path. A proxied client that reached the
// broker directly (because the proxy did not rewrite a broker address)
// would measure the broker, not the proxy.
type connCheck struct {
	allowed []string

	mu    sync.Mutex
	stray []string
}

var _ kgo.HookBrokerConnect = (*connCheck)(nil)

func newConnCheck(allowed []string) *connCheck { return &connCheck{allowed: allowed} }

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (c *connCheck) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, conn net.Conn, err error) {
	if err != nil || conn == nil {
		return
	}
	addr := conn.RemoteAddr().String()
	if slices.Contains(c.allowed, addr) {
		return
	}
	stray := fmt.Sprintf("%s (node %d)", addr, meta.NodeID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.stray, stray) {
		c.stray = append(c.stray, stray)
	}
}

// err reports the stray connections, if any.
func (c *connCheck) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stray) == 0 {
		return nil
	}
	return fmt.Errorf("client connected to %v, not to this path's addresses %v: traffic bypassed the measured path (a broker address not rewritten?)", c.stray, c.allowed)
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
)

const (
	// proxyReadyTimeout bounds the wait for /readyz to answer 200.
	proxyReadyTimeout = 30 * time.Second
	// proxyStopGrace is how long the proxy gets between SIGTERM and SIGKILL.
	proxyStopGrace = 10 * time.Second
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
	// It is part of the Linux ABI and 100 on every architecture Go supports.
	clockTicks = 100
	// logTailBytes is how much of the proxy's log is kept for error reports.
	logTailBytes = 16 << 10
)

// proxyProcess is the proxy binary running as a subprocess.
type proxyProcess struct {
	name        string // the path it serves, for messages
	cmd         *exec.Cmd
	bootstrap   string // client bootstrap address
	brokerAddr  string // where the proxy serves the broker
	metricsAddr string
	dir         string // holds its configuration file, if any
	logs        *tailBuffer

	exited  chan struct{} // closed when the process has exited
	waitErr error         // exit status, valid once exited is closed

	stopMu   sync.Mutex
	stopping bool
}

// startProxy starts bin in front of the cluster on free loopback ports and
// waits until its /readyz answers 200. With auth nil it runs
// `serve --no-auth` from flags; otherwise `serve --config FILE` with the
// file auth.configFile writes (authentication and authorization on). name
// labels the process in messages.
func startProxy(ctx context.Context, name, bin, logLevel string, c *harness.Cluster, auth *authSetup) (*proxyProcess, error) {
	if len(c.NodeIDs) != 1 {
		return nil, fmt.Errorf("the benchmark expects a 1-node cluster, got nodes %v", c.NodeIDs)
	}
	ports, err := harness.FreePorts(3) // bootstrap, broker, metrics
	if err != nil {
		return nil, err
	}
	// Broker node N is served on base+N.
	base := ports[1] - int(c.NodeIDs[0])
	p := &proxyProcess{
		name:        name,
		bootstrap:   net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		brokerAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		metricsAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2])),
		logs:        &tailBuffer{max: logTailBytes},
		exited:      make(chan struct{}),
	}
	if auth == nil {
		p.cmd = exec.Command(bin, "serve",
			"--upstream", strings.Join(c.Bootstrap, ","),
			"--listen", p.bootstrap,
			"--broker-port-base", strconv.Itoa(base),
			"--metrics-listen", p.metricsAddr,
			"--no-auth",
			"--log-level", logLevel,
		)
	} else {
		file, err := p.writeConfig(auth, proxyAddrs{bootstrap: p.bootstrap, brokerPortBase: base, metrics: p.metricsAddr}, c.Bootstrap, logLevel)
		if err != nil {
			return nil, err
		}
		p.cmd = exec.Command(bin, "serve", "--config", file)
	}
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	// Its own process group, so a terminal's Ctrl-C reaches only the bench,
	// which then stops the proxy itself; SIGKILL if the bench dies first.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("start %s %s: %w", name, bin, err), p.removeDir())
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// writeConfig writes the proxy's configuration file into a new temporary
// directory, which stop removes, and returns the file's path.
func (p *proxyProcess) writeConfig(auth *authSetup, addrs proxyAddrs, upstream []string, logLevel string) (string, error) {
	data, err := auth.configFile(addrs, upstream, logLevel)
	if err != nil {
		return "", fmt.Errorf("%s configuration: %w", p.name, err)
	}
	if p.dir, err = os.MkdirTemp("", "kafka-auth-proxy-bench-*"); err != nil {
		return "", fmt.Errorf("%s configuration: %w", p.name, err)
	}
	file := filepath.Join(p.dir, "proxy.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return "", errors.Join(fmt.Errorf("%s configuration: %w", p.name, err), p.removeDir())
	}
	return file, nil
}

// removeDir removes the configuration directory, if any.
func (p *proxyProcess) removeDir() error {
	if p.dir == "" {
		return nil
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("remove %s configuration: %w", p.name, err)
	}
	return nil
}

func (p *proxyProcess) pid() int { return p.cmd.Process.Pid }

// waitReady polls /readyz until it answers 200, the process exits, or the
// timeout or ctx ends.
func (p *proxyProcess) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, proxyReadyTimeout)
	defer cancel()
	url := "http://" + p.metricsAddr + "/readyz"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = probeReady(ctx, url); last == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready", p.name) // stop reports how
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w (last: %v); %s log:\n%s", p.name, url, ctx.Err(), last, p.name, p.logs)
		case <-tick.C:
		}
	}
}

// probeReady makes one GET of url and wants a 200.
func probeReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// exitError describes an exit that stop did not ask for. Call it only
// once exited is closed.
func (p *proxyProcess) exitError() error {
	status := "status 0"
	if p.waitErr != nil {
		status = p.waitErr.Error()
	}
	return fmt.Errorf("%s exited on its own (%s); %s log:\n%s", p.name, status, p.name, p.logs)
}

// cpuTime returns the user plus system CPU time the proxy process (all its
// threads) has used so far, from /proc/<pid>/stat.
func (p *proxyProcess) cpuTime() (time.Duration, error) {
	statPath := fmt.Sprintf("/proc/%d/stat", p.pid())
	data, err := os.ReadFile(statPath)
	if err != nil {
		return 0, fmt.Errorf("read %s CPU time: %w", p.name, err)
	}
	ticks, err := parseCPUTicks(data)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", statPath, err)
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// parseCPUTicks returns utime+stime (fields 14 and 15) of a /proc/<pid>/stat
// line. The command name (field 2) is in parentheses and may hold spaces,
// so fields are counted from the last ')'.
func parseCPUTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no ')' after the command name")
	}
	fields := strings.Fields(string(stat[i+1:])) // fields[0] is field 3
	const utimeIdx, stimeIdx = 14 - 3, 15 - 3
	if len(fields) <= stimeIdx {
		return 0, fmt.Errorf("only %d fields after the command name", len(fields))
	}
	utime, err := strconv.ParseUint(fields[utimeIdx], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseUint(fields[stimeIdx], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

// stop sends SIGTERM to the proxy's process group and SIGKILL after
// proxyStopGrace, then removes its configuration directory. It is an error
// when the proxy had already exited on its own or needed the SIGKILL. Later
// calls return nil.
func (p *proxyProcess) stop() error {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	if p.stopping {
		return nil
	}
	p.stopping = true
	return errors.Join(p.terminate(), p.removeDir())
}

// terminate ends the process; see stop.
func (p *proxyProcess) terminate() error {
	select {
	case <-p.exited:
		return p.exitError()
	default:
	}
	pgid := p.pid()
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("SIGTERM %s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("%s exited with %v after SIGTERM; %s log:\n%s", p.name, p.waitErr, p.name, p.logs)
		}
		return nil
	case <-time.After(proxyStopGrace):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("SIGKILL %s: %w", p.name, err)
	}
	<-p.exited
	return fmt.Errorf("%s did not stop within %v of SIGTERM and was killed; %s log:\n%s", p.name, proxyStopGrace, p.name, p.logs)
}

// tailBuffer is an io.Writer that keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == 0 {
		return "(empty)"
	}
	return string(t.buf)
}

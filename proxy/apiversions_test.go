package proxy

import (
	"bufio"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestIntersectVersions(t *testing.T) {
	upstream := &kmsg.ApiVersionsResponse{ApiKeys: []kmsg.ApiVersionsResponseApiKey{
		{ApiKey: 0, MinVersion: 3, MaxVersion: 99},    // Produce: capped at what the proxy decodes
		{ApiKey: 1, MinVersion: 4, MaxVersion: 12},    // Fetch: upstream's range kept
		{ApiKey: 4, MinVersion: 0, MaxVersion: 7},     // LeaderAndIsr: inter-broker, dropped
		{ApiKey: 10000, MinVersion: 0, MaxVersion: 3}, // vendor key, dropped
		{ApiKey: 18, MinVersion: 0, MaxVersion: 4},    // ApiVersions: the proxy answers it
		{ApiKey: 38, MinVersion: 0, MaxVersion: 3},    // CreateDelegationToken: not supported
		{ApiKey: 3, MinVersion: 20, MaxVersion: 25},   // Metadata: no overlap, dropped
	}}
	got := map[int16][2]int16{}
	for _, k := range testAPIs(t).intersectVersions(upstream) {
		got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	want := map[int16][2]int16{
		0:  {3, testAPIs(t).byKey[0].reviewed},
		1:  {4, 12},
		18: {0, 4},
		// SASL and the ACL APIs are answered by the proxy: its own
		// ranges, whatever the upstream says (or whether it offers them).
		17: {0, 1},
		36: {0, 2},
		29: {0, 3},
		30: {0, 3},
		31: {0, 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("key %d: got %v, want %v", k, got[k], v)
		}
	}
}

// rawRoundTrip sends one raw request frame and reads one response frame.
func rawRoundTrip(t *testing.T, addr string, frame []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	f, err := readFrame(bufio.NewReader(conn), 1<<20, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	return f.payload()
}

func TestApiVersionsNewerThanProxyGetsKIP511Answer(t *testing.T) {
	p := newTestProxy(t, 1)
	// ApiVersions v127 with correlation id 9 and a body the proxy cannot
	// know.
	frame := []byte{0, 0, 0, 14, 0, 18, 0, 127, 0, 0, 0, 9, 0, 0, 0xde, 0xad, 0xbe, 0xef}
	payload := rawRoundTrip(t, p.srv.BootstrapAddr(), frame)
	if corr := int32(binary.BigEndian.Uint32(payload)); corr != 9 {
		t.Fatalf("correlation id %d, want 9", corr)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(payload[4:]); err != nil { // header v0: no tags
		t.Fatalf("answer is not a v0 ApiVersions body: %v", err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("error code %d, want UNSUPPORTED_VERSION", resp.ErrorCode)
	}
	if len(resp.ApiKeys) != 1 || resp.ApiKeys[0].ApiKey != 18 || resp.ApiKeys[0].MaxVersion != testAPIs(t).apiVersions.reviewed {
		t.Fatalf("api keys %+v, want only ApiVersions up to v%d", resp.ApiKeys, testAPIs(t).apiVersions.reviewed)
	}
}

func TestApiVersionsAnswerUsesHeaderV0AndProxyRanges(t *testing.T) {
	p := newTestProxy(t, 1)
	for _, version := range []int16{0, 3, 4} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = version
		req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1"
		frame := kmsg.NewRequestFormatter().AppendRequest(nil, req, 5)
		payload := rawRoundTrip(t, p.srv.BootstrapAddr(), frame)
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.Version = version
		if err := resp.ReadFrom(payload[4:]); err != nil {
			t.Fatalf("v%d: body after a v0 header does not decode: %v", version, err)
		}
		if resp.ErrorCode != 0 {
			t.Fatalf("v%d: error %d", version, resp.ErrorCode)
		}
		for _, k := range resp.ApiKeys {
			spec := testAPIs(t).lookup(k.ApiKey)
			if spec == nil {
				t.Errorf("v%d: advertises unsupported key %d", version, k.ApiKey)
				continue
			}
			if k.MaxVersion > spec.reviewed {
				t.Errorf("v%d: %s advertised up to v%d, proxy decodes v%d", version, spec.name, k.MaxVersion, spec.reviewed)
			}
		}
	}
}

func TestRequestNewerThanProxyDecodesIsRefused(t *testing.T) {
	p := newTestProxy(t, 1)
	// Metadata at a version past the proxy's table.
	v := testAPIs(t).byKey[3].reviewed + 1
	expectClosed(t, p.srv.BootstrapAddr(), []byte{0, 0, 0, 10, 0, 3, byte(v >> 8), byte(v), 0, 0, 0, 1, 0xff, 0xff})
}

package authn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
)

// clock is a settable time for the throttle.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// auditBuffer collects an Authenticator's audit events.
type auditBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *auditBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// reasons lists the reasons of the failures audited so far, in order.
func (b *auditBuffer) reasons(t testing.TB) []string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var ev struct {
			Data struct {
				Result string `json:"result"`
				Reason string `json:"reason"`
			} `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.Result == "failure" {
			out = append(out, ev.Data.Reason)
		}
	}
	return out
}

// loginEnv is an Authenticator offering PLAIN (keys of sa-one) and
// OAUTHBEARER (a test provider), with a settable clock and its audit
// events.
type loginEnv struct {
	a      *Authenticator
	idp    *idp
	key    testKey
	clock  *clock
	audit  *auditBuffer
	forger jose.Signer // signs as the provider's key k1, with another key
}

func newLoginEnv(t *testing.T, edit func(*Config)) *loginEnv {
	t.Helper()
	e := &loginEnv{idp: newIDP(t), key: newTestKey(t, "sa-one", testCluster), clock: &clock{t: time.Now()}, audit: &auditBuffer{}}
	cfg := oauthConfig(t, e.idp)
	cfg.Keys = append(cfg.Keys, e.key.config(t))
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(Options{Config: cfg, ClusterID: func() string { return testCluster }, Audit: audit.New(e.audit)})
	if err != nil {
		t.Fatal(err)
	}
	a.now = e.clock.now
	other := newIDP(t)
	if e.forger, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: other.key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); a.Wait() })
	a.Start(ctx)
	e.a = a
	return e
}

// plainFrom logs in over PLAIN from source with msg.
func (e *loginEnv) plainFrom(source string, msg []byte) Step {
	s := e.a.NewSession(testListener, source, nil)
	defer s.Close()
	return login(s, MechanismPlain, 1, msg)
}

// tokenFrom logs in over OAUTHBEARER from source with msg, acknowledging a
// refusal's challenge as clients do.
func (e *loginEnv) tokenFrom(source string, msg []byte) Step {
	s := e.a.NewSession(testListener, source, nil)
	defer s.Close()
	step := login(s, MechanismOAuthBearer, 1, msg)
	if !step.Failed && !step.Complete {
		step = s.Authenticate(context.Background(), 1, []byte{kvsep})
	}
	return step
}

// forged is a token naming the provider's key k1 but signed with another
// key: it passes every cheap check and fails the signature.
func (e *loginEnv) forged(t testing.TB, n int) []byte {
	t.Helper()
	tok, err := jwt.Signed(e.forger).Claims(map[string]any{"iss": e.idp.srv.URL, "aud": "kafka", "sub": fmt.Sprint("forged-", n),
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return bearer(tok)
}

// A correct credential always logs in, unless its own address is over
// its limit: failures from anybody else never lock it out.
func TestFailuresElsewhereNeverLockOutACorrectLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		// flood is the i-th failed attempt of the attacker, and from
		// where.
		flood  func(t *testing.T, e *loginEnv, i int) (source string, step Step)
		floods int
		// then the correct login, from where, and what it gets.
		correct func(t *testing.T, e *loginEnv, source string) Step
		from    string
		want    string // "ok", or the failure reason
	}{
		{"wrong secrets for a key from one address; the right secret from another",
			func(t *testing.T, e *loginEnv, _ int) (string, Step) {
				return "198.51.100.7:1", e.plainFrom("198.51.100.7:1", []byte("\x00"+e.key.id+"\x00wrong"))
			}, 40,
			func(t *testing.T, e *loginEnv, src string) Step { return e.plainFrom(src, e.key.plain()) }, "198.51.100.8:1", "ok"},
		{"wrong secrets for a key from one address; the right secret from that address",
			func(t *testing.T, e *loginEnv, _ int) (string, Step) {
				return "198.51.100.7:1", e.plainFrom("198.51.100.7:1", []byte("\x00"+e.key.id+"\x00wrong"))
			}, 40,
			func(t *testing.T, e *loginEnv, src string) Step { return e.plainFrom(src, e.key.plain()) }, "198.51.100.7:2", ReasonThrottled},
		{"wrong secrets for a key from many addresses",
			func(t *testing.T, e *loginEnv, i int) (string, Step) {
				src := fmt.Sprintf("203.0.113.%d:1", i)
				return src, e.plainFrom(src, []byte("\x00"+e.key.id+"\x00wrong"))
			}, 100,
			func(t *testing.T, e *loginEnv, src string) Step { return e.plainFrom(src, e.key.plain()) }, "192.0.2.50:1", "ok"},
		{"refused tokens naming an identity pool, from many addresses",
			func(t *testing.T, e *loginEnv, i int) (string, Step) {
				src := fmt.Sprintf("203.0.113.%d:1", i)
				return src, e.tokenFrom(src, bearer(e.idp.token(t, map[string]any{"aud": "other"}), "identityPoolId=pool-payments"))
			}, 100,
			func(t *testing.T, e *loginEnv, src string) Step {
				return e.tokenFrom(src, bearer(e.idp.token(t, map[string]any{"groups": []string{"payments"}}), "identityPoolId=pool-payments"))
			}, "192.0.2.50:1", "ok"},
		{"refused logins of one token subject, from many addresses",
			func(t *testing.T, e *loginEnv, i int) (string, Step) {
				src := fmt.Sprintf("203.0.113.%d:1", i)
				return src, e.tokenFrom(src, bearer(e.idp.token(t, map[string]any{"sub": "payments-app"}), "identityPoolId=pool-nope"))
			}, 100,
			func(t *testing.T, e *loginEnv, src string) Step {
				return e.tokenFrom(src, bearer(e.idp.token(t, map[string]any{"sub": "payments-app", "groups": []string{"payments"}})))
			}, "192.0.2.50:1", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLoginEnv(t, func(c *Config) { c.Limits.PerSecond = 0 })
			for i := range tc.floods {
				if _, step := tc.flood(t, e, i); step.Complete {
					t.Fatalf("attempt %d of the flood logged in", i)
				}
			}
			got := tc.correct(t, e, tc.from)
			switch {
			case tc.want == "ok" && !got.Complete:
				t.Fatalf("the correct login: %+v; want it logged in", got)
			case tc.want != "ok":
				reasons := e.audit.reasons(t)
				if got.Complete || reasons[len(reasons)-1] != tc.want {
					t.Fatalf("the correct login: %+v, last reason %q; want %s", got, reasons[len(reasons)-1], tc.want)
				}
			}
		})
	}
}

// A flood of forged tokens from many addresses fills the ceiling of
// failed verifications. Past it, new tokens are checked only for
// addresses that logged in before; API keys, tokens already verified, and
// returning clients still log in.
func TestFloodFromManyAddressesHitsTheCeilingAndCorrectLoginsGetThrough(t *testing.T) {
	e := newLoginEnv(t, func(c *Config) { c.Limits.PerSecond = 5 })
	cached := bearer(e.idp.token(t, map[string]any{"groups": []string{"payments"}}))
	if step := e.tokenFrom("192.0.2.10:1", cached); !step.Complete {
		t.Fatalf("a first login with the token: %+v", step)
	}
	if step := e.plainFrom("192.0.2.11:1", e.key.plain()); !step.Complete {
		t.Fatalf("a first login of the returning client: %+v", step)
	}
	for i := range 50 {
		e.tokenFrom(fmt.Sprintf("203.0.113.%d:1", i), e.forged(t, i))
	}
	reasons := e.audit.reasons(t)
	checked, refused := 0, 0
	for _, r := range reasons {
		switch r {
		case ReasonTokenPrefix + "bad_signature":
			checked++
		case ReasonFailureCeiling:
			refused++
		}
	}
	if checked > 5 || refused < 45 {
		t.Fatalf("of 50 forged tokens, %d were verified and %d refused unchecked; want at most 5 verified (the ceiling)", checked, refused)
	}

	fresh := func() []byte {
		return bearer(e.idp.token(t, map[string]any{"groups": []string{"payments"}, "jti": time.Now().String()}))
	}
	for _, tc := range []struct {
		name string
		step func() Step
		want string // "ok", or the failure reason
	}{
		{"an API key from a new address", func() Step { return e.plainFrom("192.0.2.20:1", e.key.plain()) }, "ok"},
		{"a token verified before, from a new address", func() Step { return e.tokenFrom("192.0.2.21:1", cached) }, "ok"},
		{"a new token from an address that logged in before", func() Step { return e.tokenFrom("192.0.2.11:2", fresh()) }, "ok"},
		{"another forged token", func() Step { return e.tokenFrom("203.0.113.200:1", e.forged(t, 200)) }, ReasonFailureCeiling},
		// The price of the ceiling: a client never seen before, with a
		// token never seen before, waits until the flood subsides.
		{"a new token from a new address", func() Step { return e.tokenFrom("192.0.2.22:1", fresh()) }, ReasonFailureCeiling},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.step()
			if tc.want == "ok" {
				if !got.Complete {
					t.Fatalf("%+v; want it logged in", got)
				}
				return
			}
			if reasons := e.audit.reasons(t); got.Complete || reasons[len(reasons)-1] != tc.want {
				t.Fatalf("%+v, reason %q; want %s", got, reasons[len(reasons)-1], tc.want)
			}
		})
	}
	// Once the rate of failures falls, new tokens are verified again.
	e.clock.advance(2 * time.Second)
	if step := e.tokenFrom("192.0.2.23:1", fresh()); !step.Complete {
		t.Fatalf("a new token from a new address after the flood: %+v", step)
	}
}

// A connection gets one failed attempt: the next handshake or
// authenticate closes it, and is counted and audited too.
func TestAnotherAttemptAfterARefusalIsCountedAndClosesTheConnection(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// refused makes the first, refused attempt on s.
		refused func(t *testing.T, e *loginEnv, s *Session)
		// again makes the second; it must be refused with code.
		again func(t *testing.T, e *loginEnv, s *Session) FailureCode
		first string // the first attempt's reason
	}{
		{"a handshake after a refused token's challenge",
			func(t *testing.T, e *loginEnv, s *Session) {
				if step := login(s, MechanismOAuthBearer, 1, bearer(e.idp.token(t, map[string]any{"aud": "other"}))); string(step.Response) != string(oauthFailure) {
					t.Fatalf("refused token: %+v; want the challenge", step)
				}
			},
			func(t *testing.T, e *loginEnv, s *Session) FailureCode {
				_, code := s.Handshake(ctx, MechanismOAuthBearer)
				return code
			}, "token_wrong_audience"},
		{"a new token instead of acknowledging the challenge",
			func(t *testing.T, e *loginEnv, s *Session) {
				login(s, MechanismOAuthBearer, 1, bearer(e.idp.token(t, map[string]any{"aud": "other"})))
			},
			func(t *testing.T, e *loginEnv, s *Session) FailureCode {
				return s.Authenticate(ctx, 1, bearer(e.idp.token(t, map[string]any{"groups": []string{"payments"}}))).Code
			}, "token_wrong_audience"},
		{"a handshake after a refused API key",
			func(t *testing.T, e *loginEnv, s *Session) {
				login(s, MechanismPlain, 1, []byte("\x00"+e.key.id+"\x00wrong"))
			},
			func(t *testing.T, e *loginEnv, s *Session) FailureCode {
				_, code := s.Handshake(ctx, MechanismPlain)
				return code
			}, ReasonBadSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLoginEnv(t, nil)
			s := e.a.NewSession(testListener, "192.0.2.1:1", nil)
			defer s.Close()
			tc.refused(t, e, s)
			if code := tc.again(t, e, s); code != CodeIllegalState {
				t.Fatalf("the second attempt: code %v; want ILLEGAL_SASL_STATE", code)
			}
			if s.Authenticated() {
				t.Fatal("the connection logged in")
			}
			want := []string{tc.first, ReasonAttemptAfterFailure}
			if got := e.audit.reasons(t); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("audited failures %v; want %v", got, want)
			}
			for _, r := range want {
				mech := MechanismOAuthBearer
				if r == ReasonBadSecret || tc.first == ReasonBadSecret {
					mech = MechanismPlain
				}
				if counterValue(t, e.a, mech, outcomeFailure, r) != 1 {
					t.Errorf("failures counted with reason %s: %v; want 1", r, counterValue(t, e.a, mech, outcomeFailure, r))
				}
			}
		})
	}
}

// Every refusal waits the failure delay before it is answered, including
// a refused token's challenge.
func TestRefusalsWaitTheFailureDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	for _, tc := range []struct {
		name string
		mech string
		msg  func(e *loginEnv) []byte
	}{
		{"a wrong API key secret", MechanismPlain, func(e *loginEnv) []byte { return []byte("\x00" + e.key.id + "\x00wrong") }},
		{"a refused token, answered with the challenge", MechanismOAuthBearer, func(e *loginEnv) []byte {
			return bearer(e.idp.token(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))
		}},
		{"a malformed OAUTHBEARER message", MechanismOAuthBearer, func(*loginEnv) []byte { return []byte("n,,garbage") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLoginEnv(t, func(c *Config) { c.FailureDelay = delay })
			s := e.a.NewSession(testListener, "192.0.2.1:1", nil)
			defer s.Close()
			msg := tc.msg(e)
			start := time.Now()
			step := login(s, tc.mech, 1, msg)
			if step.Complete {
				t.Fatal("logged in")
			}
			if waited := time.Since(start); waited < delay {
				t.Errorf("answered after %v; want at least the failure delay %v", waited, delay)
			}
		})
	}
}

// A frame over the pre-login limit is a failed login: counted against its
// address, audited, and delayed.
func TestRefusedFrameBeforeLoginIsAFailedLogin(t *testing.T) {
	e := newLoginEnv(t, func(c *Config) { c.Limits.PerSource = 1 })
	s := e.a.NewSession(testListener, "192.0.2.1:1", nil)
	s.Refuse(context.Background(), ReasonFrameTooLarge, fmt.Errorf("frame of 1 GiB"))
	s.Close()
	if got := e.audit.reasons(t); fmt.Sprint(got) != "["+ReasonFrameTooLarge+"]" {
		t.Errorf("audited %v", got)
	}
	if counterValue(t, e.a, "none", outcomeFailure, ReasonFrameTooLarge) != 1 {
		t.Error("not counted")
	}
	if step := e.plainFrom("192.0.2.1:2", e.key.plain()); step.Complete {
		t.Error("the address's next login was not throttled")
	}
}

package clients

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

// TokenError is an error answer of a token endpoint (RFC 6749 section 5.2),
// or any answer other than 200 with an access token.
type TokenError struct {
	Status      int    // HTTP status
	Code        string // the "error" field, e.g. "invalid_client"
	Description string // the "error_description" field, or the start of the body
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("token endpoint answered %d %s: %s", e.Status, e.Code, e.Description)
}

// ClientCredentialsToken performs the OAuth 2.0 client-credentials grant
// (RFC 6749 section 4.4) at tokenURL, authenticating with HTTP Basic
// (client_secret_basic; id and secret form-encoded first, as section 2.3.1
// says), and returns the access token and when it expires: now plus
// expires_in, or else the exp claim when the token is a JWT, or else the zero
// time. scopes, if any, are sent space-separated in the scope parameter. A
// refusal is a *TokenError.
func ClientCredentialsToken(ctx context.Context, tokenURL, clientID, secret string, scopes ...string) (string, time.Time, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("clients: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	requested := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("clients: token request for %s: %w", clientID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("clients: read token response for %s: %w", clientID, err)
	}
	var out struct {
		AccessToken      string      `json:"access_token"`
		ExpiresIn        json.Number `json:"expires_in"`
		Error            string      `json:"error"`
		ErrorDescription string      `json:"error_description"`
	}
	jsonErr := json.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusOK || out.Error != "" {
		desc := out.ErrorDescription
		if jsonErr != nil || (out.Error == "" && desc == "") {
			desc = fmt.Sprintf("%.200s", body)
		}
		return "", time.Time{}, &TokenError{Status: resp.StatusCode, Code: out.Error, Description: desc}
	}
	if jsonErr != nil {
		return "", time.Time{}, fmt.Errorf("clients: parse token response for %s: %w", clientID, jsonErr)
	}
	if out.AccessToken == "" {
		return "", time.Time{}, &TokenError{Status: resp.StatusCode, Description: "no access_token in the answer"}
	}
	var exp time.Time
	if out.ExpiresIn != "" {
		secs, err := out.ExpiresIn.Float64()
		if err != nil {
			return "", time.Time{}, fmt.Errorf("clients: token response for %s: expires_in %q: %w", clientID, out.ExpiresIn, err)
		}
		exp = requested.Add(time.Duration(secs * float64(time.Second)))
	} else if e, ok := jwtExpiry(out.AccessToken); ok {
		exp = e
	}
	return out.AccessToken, exp, nil
}

// jwtExpiry reads the exp claim of a JWT without verifying it.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	secs, err := claims.Exp.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(secs*float64(time.Second))), true
}

// OAuthMechanism returns a franz-go SASL/OAUTHBEARER mechanism
// (oauth.Oauth) that gets its tokens with ClientCredentialsToken and sends
// extensions with each. A token is reused until less than a fifth of its
// lifetime (at most 30 s) is left; one without a known expiry is fetched
// anew for every authentication.
func OAuthMechanism(tokenURL, clientID, secret string, extensions map[string]string, scopes ...string) sasl.Mechanism {
	var (
		mu      sync.Mutex
		token   string
		fetched time.Time
		expiry  time.Time
	)
	return oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
		mu.Lock()
		defer mu.Unlock()
		if token != "" && !expiry.IsZero() {
			margin := min(expiry.Sub(fetched)/5, 30*time.Second)
			if time.Until(expiry) > margin {
				return oauth.Auth{Token: token, Extensions: extensions}, nil
			}
		}
		t, exp, err := ClientCredentialsToken(ctx, tokenURL, clientID, secret, scopes...)
		if err != nil {
			return oauth.Auth{}, err
		}
		if t == "" {
			return oauth.Auth{}, errors.New("clients: empty access token")
		}
		token, fetched, expiry = t, time.Now(), exp
		return oauth.Auth{Token: token, Extensions: extensions}, nil
	})
}

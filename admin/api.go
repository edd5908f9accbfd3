package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// request is one API call being served.
type request struct {
	s     *Server
	r     *http.Request
	w     http.ResponseWriter
	route *route
	// source is the caller's address: the peer's, or the one
	// X-Forwarded-For names when the peer is a trusted proxy.
	source string
	snap   *store.Snapshot
	caller *caller
	scope  scopeView
	// event is the management audit event of the call; handlers fill in
	// the object and the changed fields.
	event audit.ManagementEvent
	// header is set on the answer.
	header http.Header
}

// apiError is an error answer.
type apiError struct {
	status int
	items  []ErrorItem
}

func (e *apiError) Error() string {
	var parts []string
	for _, it := range e.items {
		parts = append(parts, it.Detail)
	}
	return strconv.Itoa(e.status) + ": " + strings.Join(parts, "; ")
}

// errorf is an error answer with one problem.
func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, items: []ErrorItem{{Status: strconv.Itoa(status), Detail: fmt.Sprintf(format, args...)}}}
}

// problems collects the problems of a request body, to report them all.
type problems struct{ items []ErrorItem }

func (p *problems) add(pointer, format string, args ...any) {
	p.items = append(p.items, ErrorItem{Status: "400", Detail: fmt.Sprintf(format, args...),
		Source: &ErrorSource{Pointer: pointer}})
}

func (p *problems) param(name, format string, args ...any) {
	p.items = append(p.items, ErrorItem{Status: "400", Detail: fmt.Sprintf(format, args...),
		Source: &ErrorSource{Parameter: name}})
}

func (p *problems) err() error {
	if len(p.items) == 0 {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, items: p.items}
}

// errorOf maps an error to its answer.
func errorOf(err error) *apiError {
	var ae *apiError
	var d denied
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &d):
		return errorf(http.StatusForbidden, "%s", d.right)
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, authn.ErrThrottled):
		return errorf(http.StatusTooManyRequests, "too many failed logins from this address; try again later")
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "%s", err)
	case errors.Is(err, store.ErrVersion), errors.Is(err, store.ErrExists), errors.Is(err, store.ErrReadOnly),
		errors.Is(err, store.ErrInvariant):
		return errorf(http.StatusConflict, "%s", err)
	case errors.Is(err, store.ErrInvalid):
		return errorf(http.StatusBadRequest, "%s", err)
	case errors.Is(err, store.ErrUnavailable):
		return errorf(http.StatusServiceUnavailable, "the state store cannot take changes now; retry: %s", err)
	}
	return errorf(http.StatusInternalServerError, "internal error")
}

// writeJSON answers with status and body.
func writeJSON(w http.ResponseWriter, status int, body any) {
	status, data := encodeJSON(status, body)
	writeEncoded(w, status, data)
}

// encodeJSON encodes body; when it cannot, the answer is a 500.
func encodeJSON(status int, body any) (int, []byte) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return http.StatusInternalServerError, []byte(`{"errors":[{"status":"500","detail":"internal error"}]}` + "\n")
	}
	return status, buf.Bytes()
}

// writeEncoded answers with status and a JSON body encodeJSON made.
func writeEncoded(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data) //nolint:errcheck // the client went away
}

// decode reads the request body into v, refusing unknown fields, trailing
// data and bodies over the limit.
func (q *request) decode(v any) error {
	body := http.MaxBytesReader(q.w, q.r.Body, q.s.o.MaxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errorf(http.StatusBadRequest, "the request needs a JSON body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "request body: %s", jsonProblem(err))
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "request body: more than one JSON value")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s must be %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON"
	}
	return "invalid JSON"
}

// ifVersion is the version an update or delete expects: If-Match, or the
// body's metadata.version (which wins when both are given and differ, a
// 400).
func (q *request) ifVersion(body *UpdateMeta) (uint64, error) {
	var hv uint64
	if h := q.r.Header.Get("If-Match"); h != "" && h != "*" {
		v, err := strconv.ParseUint(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
		if err != nil || v == 0 {
			return 0, errorf(http.StatusBadRequest, "If-Match must be an object version such as \"3\"")
		}
		hv = v
	}
	if body != nil && body.Version != 0 {
		if hv != 0 && hv != body.Version {
			return 0, errorf(http.StatusBadRequest, "If-Match (%d) and metadata.version (%d) differ", hv, body.Version)
		}
		return body.Version, nil
	}
	return hv, nil
}

// remove deletes an object, at the version the request names.
func (q *request) remove(k store.Kind, id string) error {
	v, err := q.ifVersion(nil)
	if err != nil {
		return err
	}
	_, err = q.apply(store.Delete(k, id, v))
	return err
}

// replace stores next, the changed copy of an object, at version v (0:
// any), records the changed fields, and returns the object as stored.
func (q *request) replace(next store.Object, v uint64, changed map[string]any) (store.Object, error) {
	q.event.Changed = changed
	snap, err := q.apply(store.Update(next, v))
	if err != nil {
		return nil, err
	}
	o, _ := snap.Get(next.Kind(), next.Meta().ID)
	q.etag(o.Meta())
	return o, nil
}

// setField sets *dst to *src when src is given, and records it in changed.
func setField(changed map[string]any, name string, dst, src *string) {
	if src != nil {
		*dst = *src
		changed[name] = *src
	}
}

// apply runs commands on the store and returns the new snapshot.
func (q *request) apply(cmds ...store.Command) (*store.Snapshot, error) {
	snap, err := q.s.o.Store.Apply(q.r.Context(), cmds...)
	if err != nil {
		return nil, err
	}
	q.snap = snap
	return snap, nil
}

// base is the scheme and host the caller reached, for self links.
func (q *request) base() string {
	scheme := "http"
	if q.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + q.r.Host
}

func (q *request) self(path string) string { return q.base() + path }

// meta is the API form of an object's metadata.
func (q *request) meta(m *store.Meta, path, crn string) ObjectMeta {
	return ObjectMeta{Self: q.self(path), ResourceName: crn, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Version: m.Version, Source: string(sourceOf(m))}
}

func sourceOf(m *store.Meta) store.Source {
	if m.Source == "" {
		return store.SourceAPI
	}
	return m.Source
}

// etag sets the ETag of an object answer.
func (q *request) etag(m *store.Meta) {
	q.header.Set("ETag", strconv.Quote(strconv.FormatUint(m.Version, 10)))
}

// Paging.

const (
	defaultPageSize = 10
	maxPageSize     = 100
)

// pageOf returns one page of items (already filtered and sorted by id)
// as a list of kind.
func pageOf[T any](q *request, kind string, ids []string, items []T) (*List[T], error) {
	return pageFunc(q, kind, ids, func(i int) T { return items[i] })
}

// pageFunc returns one page of the objects whose ids (filtered, sorted)
// are given, converting only the page's with item(i).
func pageFunc[T any](q *request, kind string, ids []string, item func(i int) T) (*List[T], error) {
	var p problems
	size := defaultPageSize
	if v := q.r.URL.Query().Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			p.param("page_size", "page_size must be a number from 1 to %d", maxPageSize)
		}
		size = n
	}
	after := ""
	if tok := q.r.URL.Query().Get("page_token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) == 0 {
			p.param("page_token", "page_token is not one this API issued")
		}
		after = string(b)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	start := 0
	if after != "" {
		start = sort.SearchStrings(ids, after)
		if start < len(ids) && ids[start] == after {
			start++
		}
	}
	end := min(start+size, len(ids))
	list := &List[T]{APIVersion: APIVersion, Kind: kind, Data: make([]T, 0, end-start)}
	for i := start; i < end; i++ {
		list.Data = append(list.Data, item(i))
	}
	first := *q.r.URL
	fq := first.Query()
	fq.Del("page_token")
	first.RawQuery = fq.Encode()
	list.Metadata = ListMeta{First: q.base() + first.RequestURI(), TotalSize: len(ids)}
	if end < len(ids) {
		next := *q.r.URL
		nq := next.Query()
		nq.Set("page_token", base64.RawURLEncoding.EncodeToString([]byte(ids[end-1])))
		nq.Set("page_size", strconv.Itoa(size))
		next.RawQuery = nq.Encode()
		list.Metadata.Next = q.base() + next.RequestURI()
	}
	return list, nil
}

// query is a filter parameter of a list.
func (q *request) query(name string) string { return q.r.URL.Query().Get(name) }

// checkQuery refuses parameters a route does not take, so that a typo in
// a filter is not mistaken for an empty filter.
func (q *request) checkQuery() error {
	var p problems
	for name := range q.r.URL.Query() {
		if !q.route.takes(name) {
			p.param(name, "unknown query parameter %q", name)
		}
	}
	return p.err()
}

// escape is url.PathEscape, for ids in paths.
func escape(s string) string { return url.PathEscape(s) }

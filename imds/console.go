package imds

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// Console makes console sign-in links; the daemon implements it. It may
// call upstream (the federation endpoint, STS), which is why the handler
// reaches it only for POST /v1/console, never for credentials.
type Console interface {
	Link(ctx context.Context, profile, destination, region string) (url string, expires time.Time, err error)
}

// consoleWait bounds a console request: it calls upstream, but must answer
// before the server's write timeout.
const consoleWait = 25 * time.Second

// maxConsoleBody bounds the request body.
const maxConsoleBody = 16 << 10

// consoleRequest is the optional JSON body of POST /v1/console/<profile>.
type consoleRequest struct {
	Destination string `json:"destination"`
	Region      string `json:"region"`
}

// serveConsole answers POST /v1/console[/<profile>] with {"url", "expires"}.
// Only POST, with the client token: a web page can neither send the token
// nor, by the guard in front, reach here at all. The link is never logged.
func (h *Handler) serveConsole(w http.ResponseWriter, r *http.Request, st *status) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return fail(w, jsonError, http.StatusMethodNotAllowed, "method not allowed: use POST")
	}
	cl, code := h.authorize(w, r, st)
	if code != 0 {
		return code
	}
	if h.o.Console == nil {
		return fail(w, jsonError, http.StatusNotFound, "console sign-in links are not served here")
	}
	var req consoleRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxConsoleBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		return fail(w, jsonError, http.StatusBadRequest, `the body must be empty or {"destination": "...", "region": "..."}: `+strings.TrimPrefix(err.Error(), "json: "))
	}
	profile, ok := h.scoped(w, r, st, &cl, "/v1/console")
	if !ok {
		return st.code
	}
	ctx, cancel := context.WithTimeout(r.Context(), consoleWait)
	defer cancel()
	url, expires, err := h.o.Console.Link(ctx, profile, req.Destination, req.Region)
	if err != nil {
		return h.failFor(w, jsonError, err, profile, st, "console link not available")
	}
	st.profile = profile
	// Not HTML-escaped: the URL's & stay readable for curl users.
	var body strings.Builder
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		URL     string `json:"url"`
		Expires string `json:"expires"`
	}{url, expires.UTC().Format(imdsTimeFormat)}); err != nil {
		return fail(w, jsonError, http.StatusInternalServerError, "encoding response failed")
	}
	writeBody(w, http.StatusOK, "application/json", []byte(body.String()))
	return http.StatusOK
}

package imds

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// imdsTokenMark in a fuzzed header value is replaced by a session token
// the handler issued, so the fuzzer reaches what lies behind the token
// check too.
const imdsTokenMark = "@IMDS-TOKEN@"

// FuzzHandler sends any method, request target, Host and headers (and a
// body)
// through net/http's own request parser to the handler and checks what
// must hold for every request:
//   - it answers with one of the statuses credd uses, headers set, and
//     Cache-Control no-store;
//   - a request a browser or a rebinding page could send (Origin,
//     Sec-Fetch-Site other than none, a foreign Host) is refused;
//   - a token comes only from a PUT without forwarding headers, with a TTL
//     in range, echoed;
//   - credentials (the secret key) appear only in a 200 to a request that
//     carried the client token or a valid session token.
//
// Seeds: testdata/fuzz/FuzzHandler.
func FuzzHandler(f *testing.F) {
	fc := &fakeConsole{}
	h, _ := newTestHandler(f, func(o *Options) { o.Console = fc })
	valid := token(f, h)
	allowed := []int{200, 400, 401, 403, 404, 405, 503}
	f.Fuzz(func(t *testing.T, method, target, host, headers, body string) {
		headers = strings.ReplaceAll(headers, imdsTokenMark, valid)
		var raw strings.Builder
		raw.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
		for line := range strings.SplitSeq(headers, "\n") {
			if line = strings.TrimRight(line, "\r"); line != "" {
				raw.WriteString(line + "\r\n")
			}
		}
		raw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
		if err != nil {
			return // net/http answers 400 before any handler runs
		}
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		code, out := rec.Code, rec.Body.String()

		if !slices.Contains(allowed, code) {
			t.Fatalf("%s %q: status %d is not one credd answers with (body %q)", method, target, code, out)
		}
		if rec.Header().Get("Content-Type") == "" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%s %q: %d without Content-Type or Cache-Control: no-store: %v", method, target, code, rec.Header())
		}
		if browserLike(req) && code != http.StatusForbidden {
			t.Fatalf("%s %q with Host %q, headers %v: %d, want 403", method, target, req.Host, req.Header, code)
		}
		if req.URL.Path == "/latest/api/token" && code == http.StatusOK {
			ttl, err := strconv.Atoi(req.Header.Get(ttlHeader))
			switch {
			case req.Method != http.MethodPut:
				t.Fatalf("a token for %s", req.Method)
			case forwardedHeader(req.Header) != "":
				t.Fatalf("a token for a forwarded request: %v", req.Header)
			case err != nil || ttl < 1 || ttl > MaxTokenTTL:
				t.Fatalf("a token for TTL %q", req.Header.Get(ttlHeader))
			case rec.Header().Get(ttlHeader) != strconv.Itoa(ttl):
				t.Fatalf("TTL %d echoed as %q", ttl, rec.Header().Get(ttlHeader))
			}
		}
		if strings.Contains(out, devCreds.SecretAccessKey) {
			authorized := req.Header.Get("Authorization") == clientToken && strings.HasPrefix(req.URL.Path, "/v1/credentials") ||
				req.Header.Get(tokenHeader) == valid && strings.HasPrefix(req.URL.Path, "/latest/")
			if code != http.StatusOK || !authorized {
				t.Fatalf("%s %q (headers %v) got the secret key with %d", method, target, req.Header, code)
			}
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatalf("credentials document is not JSON: %v: %q", err, out)
			}
		}
	})
}

// browserLike is the guard's rule, written out again: what a web page or
// a DNS-rebinding page sends.
func browserLike(r *http.Request) bool {
	if _, ok := r.Header["Origin"]; ok {
		return true
	}
	if s, ok := r.Header["Sec-Fetch-Site"]; ok && !(len(s) == 1 && s[0] == "none") {
		return true
	}
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.EqualFold(host, dockerHost) {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err != nil || !ip.IsLoopback()
}

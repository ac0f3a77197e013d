package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
)

func httptestRequest(method, path string, hdr map[string]string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(""))
	req.Host = "127.0.0.1:9955"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

package imds

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/credd/credd/cred"
)

// ErrorStatus is credd's one mapping of an error to an HTTP answer: by the
// error's kind (package cred), the status and the code of a
// {"code", "message"} body. Every HTTP face of credd answers errors with
// it: the IMDS and container endpoints, console links, and the control
// API. ok is false for an error of no kind; the endpoint then answers with
// a failure status of its own (503 here: nothing to serve now).
func ErrorStatus(err error) (status int, code string, ok bool) {
	switch {
	case errors.Is(err, cred.ErrLoginRequired):
		return http.StatusServiceUnavailable, CodeLoginRequired, true
	case errors.Is(err, cred.ErrUnknownProfile), errors.Is(err, cred.ErrUnknownSession):
		status = http.StatusNotFound
	case errors.Is(err, cred.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, cred.ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, cred.ErrNotAvailable):
		status = http.StatusServiceUnavailable
	default:
		return 0, "", false
	}
	return status, ErrorCode(status), true
}

// Codes of JSON error bodies.
const (
	CodeBadRequest       = "BadRequest"
	CodeUnauthorized     = "Unauthorized"
	CodeForbidden        = "Forbidden"
	CodeNotFound         = "NotFound"
	CodeMethodNotAllowed = "MethodNotAllowed"
	CodeConflict         = "Conflict"
	CodeLoginRequired    = "LoginRequired"
	CodeNotAvailable     = "CredentialsNotAvailable"
	CodeError            = "Error"
)

// ErrorCode is the code of a JSON error body with status.
func ErrorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return CodeConflict
	case http.StatusServiceUnavailable:
		return CodeNotAvailable
	}
	return CodeError
}

// errorFormat writes an error answer: plainError (IMDS: SDKs read the
// status, and the body as is) or jsonError (container and console: the
// shape the SDKs' container providers parse).
type errorFormat func(w http.ResponseWriter, status int, code, msg string) int

func plainError(w http.ResponseWriter, status int, _, msg string) int {
	writeBody(w, status, "text/plain; charset=utf-8", []byte(msg+"\n"))
	return status
}

func jsonError(w http.ResponseWriter, status int, code, msg string) int {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	writeBody(w, status, "application/json", body)
	return status
}

// fail answers a protocol error: a status of the endpoint's own.
func fail(w http.ResponseWriter, f errorFormat, status int, msg string) int {
	return f(w, status, ErrorCode(status), msg)
}

// failWith answers err by its kind (ErrorStatus), or 503 when it has none,
// with msg as the message.
func failWith(w http.ResponseWriter, f errorFormat, err error, msg string) int {
	status, code, ok := ErrorStatus(err)
	if !ok {
		status, code = http.StatusServiceUnavailable, CodeNotAvailable
	}
	return f(w, status, code, msg)
}

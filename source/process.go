package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
)

// ErrProcessOutput is a credential_process whose output is not the JSON
// document it must print (Version, AccessKeyId, SecretAccessKey,
// SessionToken, Expiration).
var ErrProcessOutput = errors.New("credential_process printed something other than its JSON document")

// withoutProcessOutput replaces an error of the SDK's credential_process
// provider that quotes what the process printed (it does when the output
// does not parse) with one that says only what is wrong with it. That
// output holds the secret key more often than not (a helper that prints a
// warning after its JSON, say), and errors reach logs and, as the reason
// credentials are not available, clients. Other errors pass unchanged.
func withoutProcessOutput(err error) error {
	var pe *processcreds.ProviderError
	if !errors.As(err, &pe) || !strings.HasPrefix(pe.Err.Error(), "parse failed of process output") {
		return err
	}
	var (
		syntax *json.SyntaxError
		kind   *json.UnmarshalTypeError
		when   *time.ParseError
		why    string
	)
	switch {
	case errors.As(pe.Err, &syntax):
		why = fmt.Sprintf("not a single JSON object (invalid at byte %d)", syntax.Offset)
	case errors.As(pe.Err, &kind):
		field := kind.Field
		if field == "" {
			field = "the output"
		}
		why = fmt.Sprintf("%s must be a JSON %s", field, jsonKind(kind.Type.Kind().String()))
	case errors.As(pe.Err, &when):
		why = "Expiration is not an RFC 3339 time such as 2006-01-02T15:04:05Z"
	default:
		why = "it does not parse"
	}
	return fmt.Errorf("%w: %s; credd does not repeat the output, which may hold secrets: run the command yourself to see it", ErrProcessOutput, why)
}

// jsonKind names a Go kind as JSON does.
func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return goKind
}

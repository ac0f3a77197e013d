package control

import (
	"fmt"
	"strings"
	"time"
)

// describe words a session's on-demand sign-in for `credd status`, or ""
// when there is nothing to say.
func (o *OnDemandStatus) describe() string {
	if o == nil {
		return ""
	}
	var parts []string
	switch {
	case o.InProgress:
		parts = append(parts, "sign-in in progress")
	case o.Pending:
		parts = append(parts, "a browser opens when the screen is unlocked")
	case o.NotBefore != nil:
		parts = append(parts, "the last sign-in was abandoned; none opens on its own before "+o.NotBefore.Local().Format(time.TimeOnly))
	}
	if o.AskedBy != "" {
		parts = append(parts, "asked for by "+o.AskedBy)
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("on demand (%s): %s", o.Mode, strings.Join(parts, ", "))
}

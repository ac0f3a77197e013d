package doctor

import (
	"fmt"
	"io"

	"github.com/credd/credd/control"
	"github.com/credd/credd/cred"
)

// Write prints findings as `credd doctor` shows them: a mark (ok, warn,
// FAIL), what was found, and the fix under it. A failed check makes an
// error, of kind control.ErrNotRunning when the first failure is the
// daemon not answering (as every client command's, then).
func Write(w io.Writer, findings []Finding) error {
	failed, notRunning := 0, false
	for _, f := range findings {
		mark := "ok  "
		switch {
		case !f.OK && f.Warn:
			mark = "warn"
		case !f.OK:
			mark = "FAIL"
			if failed == 0 && f.NotRunning {
				notRunning = true
			}
			failed++
		}
		fmt.Fprintf(w, "[%s] %s\n", mark, f.What)
		if f.Fix != "" {
			fmt.Fprintf(w, "       fix: %s\n", f.Fix)
		}
	}
	switch {
	case notRunning:
		return cred.Errorf(control.ErrNotRunning, "%d check(s) failed; credd is not running: start it with `credd serve` (or `credd service start`)", failed)
	case failed > 0:
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Printer writes entries as `credd audit` shows them: a table, or JSON
// lines as in the file. What came from other users' processes (the
// executable, the command line, a client's name) is shown with control
// characters escaped.
type Printer struct {
	w     io.Writer
	tw    *tabwriter.Writer // nil: JSON lines
	flush bool
}

// NewPrinter writes the table's header, unless asJSON. With follow, every
// row is written at once instead of when the table is flushed.
func NewPrinter(w io.Writer, asJSON, follow bool) *Printer {
	p := &Printer{w: w, flush: follow}
	if !asJSON {
		p.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(p.tw, "TIME\tPROGRAM\tPID\tPROFILE\tENDPOINT\tRESULT")
	}
	return p
}

// Print writes one entry.
func (p *Printer) Print(e Entry) {
	if p.tw == nil {
		b, _ := json.Marshal(e)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.program(), e.pid(), orDash(e.Profile), e.Endpoint, e.result())
	if p.flush {
		p.tw.Flush()
	}
}

// Flush writes what the table holds.
func (p *Printer) Flush() error {
	if p.tw == nil {
		return nil
	}
	return p.tw.Flush()
}

// program names the caller: its executable, else its user or address.
func (e Entry) program() string {
	s := e.Exe
	if s == "" {
		s = e.Remote
		if e.UID != "" {
			s = "uid " + e.UID
		}
	}
	return orDash(s)
}

func (e Entry) pid() string {
	if e.PID == 0 {
		return "-"
	}
	return strconv.Itoa(e.PID)
}

// result says what the caller got.
func (e Entry) result() string {
	switch {
	case e.Status == 200 && e.Client != "" && e.Client != "default":
		return "served (client " + printable(e.Client) + ")"
	case e.Status == 200:
		return "served"
	case e.Count > 1:
		return fmt.Sprintf("refused %d× (%d): %s", e.Count, e.Status, printable(e.Reason))
	}
	return fmt.Sprintf("refused (%d): %s", e.Status, printable(e.Reason))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}

// printable is s with control and other unprintable characters escaped.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

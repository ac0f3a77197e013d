package control

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// How a Status reads to a person: the tables of `credd status`
// (WriteTable), the one line of `credd service status` (Summary), and the
// sign-ins it waits for (SignIns). The JSON shape is docs/control.md's.

// WriteTable writes the status as tables; colours (ANSI) only with color.
func (st Status) WriteTable(w io.Writer, now time.Time, color bool) {
	fmt.Fprintf(w, "credd %s (pid %d) on %s, up %s; default profile %q\n\n", st.Version, st.PID, st.Listen, roundDur(now.Sub(st.Started)), st.DefaultProfile)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSOURCE\tSTATE\tEXPIRES IN\tLAST REFRESH\tLAST ERROR")
	for _, p := range st.Profiles {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Source, paint(p.State, color), until(p.Expires, now), ago(p.LastRefresh, now), oneLine(p.LastError, 80))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nSESSIONS (store: %s)\n", st.Store.Kind)
	if len(st.Sessions) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tEXPIRES IN\tERROR")
		for _, s := range st.Sessions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, paint(s.State, color), until(s.Expires, now), oneLine(s.Error, 80))
		}
		tw.Flush()
		for _, s := range st.Sessions {
			if s.Login != "" {
				fmt.Fprintf(w, "  %s: %s: run `%s`\n", s.Name, s.State, s.Login)
			}
			if line := s.OnDemand.describe(); line != "" {
				fmt.Fprintf(w, "  %s: %s\n", s.Name, line)
			}
		}
	}
	for _, p := range st.Store.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	for _, p := range st.Problems {
		fmt.Fprintf(w, "\nproblem: %s\n", p)
	}
}

// Summary is one line about a running daemon: who it is and how its
// profiles are, counted by state.
func (st Status) Summary(now time.Time) string {
	var who []string
	if st.PID > 0 {
		who = append(who, fmt.Sprintf("pid %d", st.PID))
	}
	if !st.Started.IsZero() && now.After(st.Started) {
		who = append(who, "up "+roundDur(now.Sub(st.Started)))
	}
	if st.Version != "" {
		who = append(who, "credd "+st.Version)
	}
	line := "running"
	if len(who) > 0 {
		line += " (" + strings.Join(who, ", ") + ")"
	}
	counts := map[string]int{}
	for _, p := range st.Profiles {
		counts[p.State]++
	}
	var parts []string
	for _, state := range []string{"fresh", "refreshing", "idle", "stale", "expired", "login-required", "mfa-required", "error"} {
		if n := counts[state]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, state))
			delete(counts, state)
		}
	}
	for _, state := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[state], state))
	}
	line += fmt.Sprintf(", %d profile(s)", len(st.Profiles))
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	return line
}

// SignIns lists what needs a sign-in, each with the command that does it,
// once per command: the sessions that need one, then the profiles waiting
// for one that no session listed covers. login is the command that signs
// a profile in (config.Config.LoginCommand).
func (st Status) SignIns(login func(profile string) string) (lines []string) {
	seen := map[string]bool{}
	add := func(what, cmd string) {
		if !seen[cmd] {
			seen[cmd] = true
			lines = append(lines, fmt.Sprintf("%s: run `%s`", what, cmd))
		}
	}
	for _, ss := range st.Sessions {
		if ss.State != "login-required" {
			continue
		}
		switch kind, name, _ := strings.Cut(ss.Name, "/"); {
		case ss.Login != "":
			add("session "+ss.Name, ss.Login)
		case kind == "sso": // a daemon from before sessions named their command
			add("session "+ss.Name, "credd login --sso-session "+name)
		case kind == "oidc":
			add("session "+ss.Name, "credd login --provider "+name)
		}
	}
	for _, ps := range st.Profiles {
		switch ps.State {
		case "mfa-required":
			add("profile "+ps.Name+" (MFA code)", "credd login --profile "+ps.Name)
		case "login-required":
			add("profile "+ps.Name, login(ps.Name))
		}
	}
	return lines
}

func paint(state string, color bool) string {
	if !color {
		return state
	}
	code := map[string]string{"fresh": "32", "refreshing": "36", "stale": "33", "expired": "33", "error": "31", "login-required": "31", "mfa-required": "31"}[state]
	if code == "" {
		return state
	}
	return "\x1b[" + code + "m" + state + "\x1b[0m"
}

func until(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	if d := t.Sub(now); d > 0 {
		return roundDur(d)
	}
	return "expired"
}

func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	return roundDur(now.Sub(*t)) + " ago"
}

// roundDur is d to the second under a minute, else to the minute (1h5m).
func roundDur(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// oneLine is s on one line, cut to max bytes with an ellipsis.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		return s[:max-1] + "…"
	}
	return s
}

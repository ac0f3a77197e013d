package audit

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendEntry appends e as encoding/json would marshal it, byte for byte
// (a test holds it to that), without reflection: one line per credentials
// answer made encoding/json a third of what the audit log cost a request.
func appendEntry(b []byte, e Entry) []byte {
	b = appendHead(b, e)
	b = appendPeer(b, e)
	b = appendClient(b, e)
	b = appendWhere(b, e)
	return appendTail(b, e)
}

// appendConn is appendEntry with c in place of e's peer and where fields.
func appendConn(b []byte, e Entry, c *Conn) []byte {
	b = appendHead(b, e)
	b = append(b, c.peer...)
	b = appendClient(b, e)
	b = append(b, c.where...)
	return appendTail(b, e)
}

// appendHead appends the fields of the request: time to reason.
func appendHead(b []byte, e Entry) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","endpoint":`...)
	b = appendString(b, e.Endpoint)
	if e.Profile != "" {
		b = append(b, `,"profile":`...)
		b = appendString(b, e.Profile)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	return appendField(b, `,"reason":`, e.Reason)
}

// appendPeer appends the fields naming the peer: uid, pid, exe, cmdline.
func appendPeer(b []byte, e Entry) []byte {
	b = appendField(b, `,"uid":`, e.UID)
	if e.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(e.PID), 10)
	}
	b = appendField(b, `,"exe":`, e.Exe)
	return appendField(b, `,"cmdline":`, e.Cmdline)
}

func appendClient(b []byte, e Entry) []byte { return appendField(b, `,"client":`, e.Client) }

// appendWhere appends where the connection came: listener, remote.
func appendWhere(b []byte, e Entry) []byte {
	b = appendField(b, `,"listener":`, e.Listener)
	return appendField(b, `,"remote":`, e.Remote)
}

func appendTail(b []byte, e Entry) []byte {
	if e.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(e.Count), 10)
	}
	return append(b, '}')
}

// appendField appends key and val, unless val is empty (omitempty).
func appendField(b []byte, key, val string) []byte {
	if val == "" {
		return b
	}
	return appendString(append(b, key...), val)
}

// Conn is what names one connection in its lines (uid, pid, exe, cmdline;
// listener, remote), encoded once: the connection's answers then pay
// only for their own fields (WriteConn).
type Conn struct {
	peer, where []byte
}

// NewConn encodes e's UID, PID, Exe, Cmdline (cut to MaxCmdline),
// Listener and Remote; e's other fields are not used.
func NewConn(e Entry) *Conn {
	if len(e.Cmdline) > MaxCmdline {
		e.Cmdline = e.Cmdline[:MaxCmdline]
	}
	return &Conn{peer: appendPeer(nil, e), where: appendWhere(nil, e)}
}

const hex = "0123456789abcdef"

// appendString quotes s as encoding/json does (HTML-safe: <, > and &
// escaped; invalid UTF-8 as \ufffd; U+2028 and U+2029 escaped).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package daemon

import "strings"

// compareNatural orders names as people count: runs of digits by their
// value, so p2 comes before p10 (and dev-9 before dev-10); the rest byte by
// byte. Names equal but for leading zeros (p01, p1) are ordered by bytes,
// so the order is total.
func compareNatural(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		dx, dy := digits(x), digits(y)
		if dx == 0 || dy == 0 {
			if x[0] != y[0] {
				return cmpByte(x[0], y[0])
			}
			x, y = x[1:], y[1:]
			continue
		}
		nx, ny := strings.TrimLeft(x[:dx], "0"), strings.TrimLeft(y[:dy], "0")
		if len(nx) != len(ny) {
			return len(nx) - len(ny)
		}
		if c := strings.Compare(nx, ny); c != 0 {
			return c
		}
		x, y = x[dx:], y[dy:]
	}
	if c := len(x) - len(y); c != 0 && (x == "" || y == "") {
		return c
	}
	return strings.Compare(a, b)
}

// digits is the length of the run of ASCII digits s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return n
}

func cmpByte(a, b byte) int {
	if a < b {
		return -1
	}
	return 1
}

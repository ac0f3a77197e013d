package ondemand

import "testing"

func TestScreenLocked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plist string
		want  bool
	}{
		{"locked", `<dict><key>CGSSessionScreenIsLocked</key>
			<true/><key>kCGSSessionOnConsoleKey</key><true/></dict>`, true},
		{"unlocked: the key is absent", `<dict><key>kCGSSessionOnConsoleKey</key><true/></dict>`, false},
		{"unlocked: false", `<dict><key>CGSSessionScreenIsLocked</key><false/><key>x</key><true/></dict>`, false},
	} {
		if got := screenLocked([]byte(tc.plist)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

package daemon

import (
	"slices"
	"testing"

	"github.com/credd/credd/control"
)

func TestCompareNatural(t *testing.T) {
	want := []string{"", "a", "dev", "dev-9", "dev-10", "dev/x", "p", "p0", "p01", "p1", "p2", "p9", "p10", "p11", "p100", "p100a", "p100b", "pa", "q1"}
	reversed := slices.Clone(want)
	slices.Reverse(reversed)
	for _, order := range [][]string{slices.Clone(want), reversed} {
		got := slices.Clone(order)
		slices.SortFunc(got, compareNatural)
		if !slices.Equal(got, want) {
			t.Errorf("sorted %q\nwant   %q", got, want)
		}
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"p2", "p10", -1}, {"p10", "p2", 1}, {"p10", "p10", 0}, {"p01", "p1", -1}, {"p1", "p01", 1},
		{"a1b2", "a1b10", -1}, {"a", "a1", -1}, {"a1", "a", 1}, {"99999999999999999999", "100000000000000000000", -1},
	} {
		if got := compareNatural(tc.a, tc.b); (got < 0) != (tc.want < 0) || (got > 0) != (tc.want > 0) {
			t.Errorf("compareNatural(%q, %q) = %d, want the sign of %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestStatusListsProfilesNaturally: credd status shows p2 before p10.
func TestStatusListsProfilesNaturally(t *testing.T) {
	var yaml, aws string
	for _, n := range []string{"p10", "p2", "p1", "p11"} {
		yaml += "  " + n + ": {aws_profile: " + n + "}\n"
		aws += processProfile(t, n, "ASIA"+n, "s", "t")
	}
	r := start(t, "profiles:\n"+yaml, aws)
	var got []string
	for _, p := range r.d.ControlBackend(ControlInfo{}).Status(t.Context()).Profiles {
		got = append(got, p.Name)
	}
	if want := []string{"p1", "p2", "p10", "p11"}; !slices.Equal(got, want) {
		t.Errorf("status lists %q, want %q", got, want)
	}
}

// TestLoginListsReadyProfilesNaturally: what a code made ready is listed
// as status lists profiles, r2 before r10.
func TestLoginListsReadyProfilesNaturally(t *testing.T) {
	yaml := "profiles:\n  keys: {aws_profile: keys, mfa_serial: \"" + testSerial + "\"}\n"
	for _, n := range []string{"r10", "r2", "r1", "r11"} {
		yaml += "  " + n + ": {source_profile: keys, role_arn: \"arn:aws:iam::111122223333:role/" + n + "\"}\n"
	}
	m := newMFARig(t, yaml, keysFile)
	_, ctl := m.start(t)
	res, err := mfaLogin(t, ctl, control.MFARequest{Profile: "keys", Code: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"keys", "r1", "r2", "r10", "r11"}; !slices.Equal(res.Ready, want) {
		t.Errorf("ready %q, want %q (not ready: %+v)", res.Ready, want, res.NotReady)
	}
}

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/credd/credd/control"
	"github.com/credd/credd/internal/credproctest"
	"github.com/credd/credd/internal/oidctest"
	"github.com/credd/credd/store"
)

// processProfileExpiring is processProfile with a chosen expiry.
func processProfileExpiring(t *testing.T, name, key, secret, token string, exp time.Time) string {
	t.Helper()
	cmd := credproctest.Command(t, credproctest.Spec{Output: credproctest.Document(key, secret, token, exp)})
	return fmt.Sprintf("[profile %s]\ncredential_process = %s\n", name, cmd)
}

// seriesValues gathers one gauge or counter family as
// "label=value,..." -> value.
func seriesValues(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(labels, ",")] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return out
}

// TestExpiryMetricIsTheServedCredentialsExpiry: the expiry gauge of a
// profile is when the credentials credd serves expire, not when it last
// fetched them; a profile nobody asked for has no series.
func TestExpiryMetricIsTheServedCredentialsExpiry(t *testing.T) {
	devExp := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	opsExp := time.Now().Add(5*time.Hour + 17*time.Minute).UTC().Truncate(time.Second)
	r := start(t, "profiles:\n  dev: {aws_profile: dev}\n  team/ops: {aws_profile: ops}\n  idle: {aws_profile: idle}\n",
		processProfileExpiring(t, "dev", "ASIADEV", "s", "t", devExp)+
			processProfileExpiring(t, "ops", "ASIAOPS", "s", "t", opsExp)+
			processProfileExpiring(t, "idle", "ASIAIDLE", "s", "t", devExp))
	if got := seriesValues(t, r.reg, "credd_credentials_expiry_timestamp_seconds"); len(got) != 0 {
		t.Fatalf("before any request: %v, want no series", got)
	}
	for _, tc := range []struct {
		name, profile string
		exp           time.Time
	}{
		{"dev", "dev", devExp},
		{"a name with a slash", "team/ops", opsExp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := r.get(t, "/v1/credentials/"+tc.profile, auth)
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, body)
			}
			var doc struct{ Expiration time.Time }
			if err := json.Unmarshal([]byte(body), &doc); err != nil || !doc.Expiration.Equal(tc.exp) {
				t.Fatalf("served Expiration %v (%v), want %v", doc.Expiration, err, tc.exp)
			}
			got := seriesValues(t, r.reg, "credd_credentials_expiry_timestamp_seconds")["profile="+tc.profile]
			if want := float64(doc.Expiration.Unix()); got != want {
				t.Errorf("expiry gauge = %v (%s), want the served Expiration %v (%s)", got, time.Unix(int64(got), 0).UTC(), want, doc.Expiration)
			}
			// The test could not tell expiry from last refresh if they were equal.
			for _, st := range r.d.Status() {
				if st.Profile == tc.profile && st.LastRefresh.Unix() == tc.exp.Unix() {
					t.Fatalf("last refresh %v equals the expiry: the test proves nothing", st.LastRefresh)
				}
			}
		})
	}
	if got := seriesValues(t, r.reg, "credd_credentials_expiry_timestamp_seconds"); len(got) != 2 {
		t.Errorf("series %v, want dev and team/ops only (idle was never fetched)", got)
	}
}

// TestRequestDurationObservesEveryRequest: every answered request is one
// observation in its endpoint's histogram, whatever the answer.
func TestRequestDurationObservesEveryRequest(t *testing.T) {
	r := start(t, "profiles:\n  dev: {aws_profile: dev}\n", processProfile(t, "dev", "ASIADEV", "s", "t"))
	put := func(hdr map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, r.url+"/latest/api/token", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}); code != 200 {
		t.Fatalf("token: %d", code)
	}
	put(nil) // 400: no TTL
	r.get(t, "/v1/credentials/dev", auth)
	r.get(t, "/v1/credentials/dev", auth)
	r.get(t, "/v1/credentials/nope", auth)
	r.get(t, "/v1/credentials", nil)
	r.get(t, "/latest/meta-data/iam/security-credentials/", nil) // 401: no token
	r.get(t, "/healthz", nil)
	r.get(t, "/healthz", map[string]string{"Origin": "http://evil.example"})

	want := map[string]uint64{"container": 4, "imds-token": 2, "imds": 1, "ops": 1, "refused": 1}
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != "credd_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "endpoint" {
				t.Errorf("labels %v, want endpoint only (profile and code would multiply the series)", m.GetLabel())
				continue
			}
			h := m.GetHistogram()
			got[m.GetLabel()[0].GetValue()] = h.GetSampleCount()
			if h.GetSampleSum() < 0 || h.GetSampleSum() > 60 {
				t.Errorf("%s: sum %v s is no request time", m.GetLabel()[0].GetValue(), h.GetSampleSum())
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("observations by endpoint %v, want %v", got, want)
	}
	// Each observation is a counted request, and the other way round.
	// (/metrics is not scraped above, so the counts stay exact.)
	counted := map[string]uint64{}
	for k, v := range seriesValues(t, r.reg, "credd_requests_total") {
		for _, l := range strings.Split(k, ",") {
			if e, ok := strings.CutPrefix(l, "endpoint="); ok {
				counted[e] += uint64(v)
			}
		}
	}
	if fmt.Sprint(counted) != fmt.Sprint(want) {
		t.Errorf("requests_total by endpoint %v, want %v", counted, want)
	}
}

// TestRequestDurationValues: the histogram records the request's time in
// seconds, per endpoint (the cached observer must be the endpoint's own).
func TestRequestDurationValues(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry(), &Daemon{})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveRequest("container", "dev", 200, 3*time.Millisecond)
	m.ObserveRequest("container", "ops", 503, 2*time.Millisecond)
	m.ObserveRequest("imds", "dev", 200, 2*time.Second)
	m.ObserveRequest("container", "dev", 200, 200*time.Microsecond)
	want := `
# HELP credd_request_duration_seconds Time to answer HTTP requests, by endpoint.
# TYPE credd_request_duration_seconds histogram
credd_request_duration_seconds_bucket{endpoint="container",le="0.0001"} 0
credd_request_duration_seconds_bucket{endpoint="container",le="0.00025"} 1
credd_request_duration_seconds_bucket{endpoint="container",le="0.0005"} 1
credd_request_duration_seconds_bucket{endpoint="container",le="0.001"} 1
credd_request_duration_seconds_bucket{endpoint="container",le="0.0025"} 2
credd_request_duration_seconds_bucket{endpoint="container",le="0.005"} 3
credd_request_duration_seconds_bucket{endpoint="container",le="0.01"} 3
credd_request_duration_seconds_bucket{endpoint="container",le="0.05"} 3
credd_request_duration_seconds_bucket{endpoint="container",le="0.25"} 3
credd_request_duration_seconds_bucket{endpoint="container",le="1"} 3
credd_request_duration_seconds_bucket{endpoint="container",le="5"} 3
credd_request_duration_seconds_bucket{endpoint="container",le="+Inf"} 3
credd_request_duration_seconds_sum{endpoint="container"} 0.0052
credd_request_duration_seconds_count{endpoint="container"} 3
credd_request_duration_seconds_bucket{endpoint="imds",le="0.0001"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="0.00025"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="0.0005"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="0.001"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="0.0025"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="0.005"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="0.01"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="0.05"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="0.25"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="1"} 0
credd_request_duration_seconds_bucket{endpoint="imds",le="5"} 1
credd_request_duration_seconds_bucket{endpoint="imds",le="+Inf"} 1
credd_request_duration_seconds_sum{endpoint="imds"} 2
credd_request_duration_seconds_count{endpoint="imds"} 1
`
	if err := testutil.CollectAndCompare(m.latency, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestSessionExpiryMetric: a stored session's series carries its stored
// expiry from the start; a sign-in moves it to the new session's end; a
// logout removes it.
func TestSessionExpiryMetric(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{RefreshTTL: 9 * time.Hour})
	sessions := store.NewMemory()
	corpEnd := time.Now().Add(8 * time.Hour).UTC().Truncate(time.Second)
	oktaOld := time.Now().Add(30 * time.Minute).UTC().Truncate(time.Second)
	for key, raw := range map[string]string{
		"sso/corp":  fmt.Sprintf(`{"kind":"sso","expires_at":%q}`, corpEnd.Format(time.RFC3339)),
		"oidc/okta": fmt.Sprintf(`{"kind":"oidc","expires_at":%[1]q,"tokens":{"id_token":"x","refresh_token":"r","expiry":%[1]q,"refresh_expiry":%[1]q}}`, oktaOld.Format(time.RFC3339)),
		"oidc/none": `{"kind":"oidc"}`, // no known end: no series
	} {
		if err := sessions.Put(t.Context(), key, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	r := startWith(t, fmt.Sprintf(`identity_providers:
  okta: {issuer: %q, client_id: %q, flow: device}
profiles:
  app: {identity_provider: okta, role_arn: "arn:aws:iam::111122223333:role/app"}
`, idp.Issuer(), idp.ClientID()), "", func(d *Deps) { d.Sessions = sessions })

	compare := func(t *testing.T, want map[string]time.Time) {
		t.Helper()
		got := seriesValues(t, r.reg, "credd_session_expiry_timestamp_seconds")
		if len(got) != len(want) {
			t.Errorf("series %v, want %v", got, want)
		}
		for s, exp := range want {
			if v, ok := got["session="+s]; !ok || v != float64(exp.Unix()) {
				t.Errorf("%s: %v (present %v), want %v (%s)", s, v, ok, float64(exp.Unix()), exp)
			}
		}
	}
	t.Run("stored sessions at start", func(t *testing.T) {
		compare(t, map[string]time.Time{"sso/corp": corpEnd, "oidc/okta": oktaOld})
	})

	t.Run("a sign-in moves the session's end", func(t *testing.T) {
		before := time.Now()
		ctl := r.d.ControlBackend(ControlInfo{})
		ls, err := ctl.Login(t.Context(), control.LoginRequest{Provider: "okta"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ctl.CancelLogin(context.Background(), ls.ID) })
		if err := idp.Approve(ls.UserCode); err != nil {
			t.Fatal(err)
		}
		var st control.LoginState
		for st.State == "" || st.State == "pending" {
			if st, err = ctl.LoginStatus(t.Context(), ls.ID, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		if st.State != "done" {
			t.Fatalf("sign-in %+v", st)
		}
		end := r.d.sessions.get("oidc/okta").sess.Expiry()
		if end.Before(before.Add(9*time.Hour-time.Minute)) || end.After(time.Now().Add(9*time.Hour+time.Minute)) {
			t.Fatalf("session end %v, want about 9h from now (the provider's refresh_expires_in)", end)
		}
		compare(t, map[string]time.Time{"sso/corp": corpEnd, "oidc/okta": end})
	})

	t.Run("logout removes the series", func(t *testing.T) {
		if _, err := r.d.Logout(t.Context(), "sso/corp"); err != nil {
			t.Fatal(err)
		}
		got := seriesValues(t, r.reg, "credd_session_expiry_timestamp_seconds")
		if _, ok := got["session=sso/corp"]; ok || len(got) != 1 {
			t.Errorf("after logout: %v, want oidc/okta only", got)
		}
	})
}

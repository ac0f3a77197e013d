package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// imdsGet GETs an IMDS path with a fresh IMDSv2 token.
func (r *running) imdsGet(t *testing.T, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, r.url+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok [256]byte
	n, _ := resp.Body.Read(tok[:])
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	return r.get(t, path, map[string]string{"X-aws-ec2-metadata-token": string(tok[:n])})
}

// withoutSDKEnvironment clears what would make the SDK ignore the
// profile's region or ca_bundle.
func withoutSDKEnvironment(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
}

// writeCABundle writes a PEM file holding one self-signed certificate.
func writeCABundle(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "credd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRegionOfTheDefaultProfileIsResolvedWhenAsked: IMDS reports the
// region the AWS SDK resolves for the default aws_profile, and works it out
// when a request first asks rather than at start. The profile names a
// ca_bundle that does not exist yet: the SDK cannot load its configuration
// without it, so a start that loaded it would have fallen back to
// sts.region for good; created before the first request, it is read then.
func TestRegionOfTheDefaultProfileIsResolvedWhenAsked(t *testing.T) {
	withoutSDKEnvironment(t)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	r := start(t, "sts: {region: us-east-1}\ndefault_profile: dev\nprofiles:\n  dev: {aws_profile: dev}\n  pinned: {aws_profile: dev, region: eu-north-1}\n",
		processProfile(t, "dev", "ASIADEV", "s", "t")+fmt.Sprintf("region = ap-southeast-2\nca_bundle = %s\n", bundle))
	writeCABundle(t, bundle)
	for _, tc := range []struct{ name, path, want string }{
		{"region", "/latest/meta-data/placement/region", "ap-southeast-2"},
		{"availability zone", "/latest/meta-data/placement/availability-zone", "ap-southeast-2a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := r.imdsGet(t, tc.path)
			if code != http.StatusOK || body != tc.want {
				t.Fatalf("%s: %d %q, want 200 %q", tc.path, code, body, tc.want)
			}
		})
	}
	// Once worked out, the answer stands for the generation: the bundle
	// going away does not change it.
	if err := os.Remove(bundle); err != nil {
		t.Fatal(err)
	}
	if code, body := r.imdsGet(t, "/latest/meta-data/placement/region"); code != http.StatusOK || body != "ap-southeast-2" {
		t.Fatalf("after the bundle went: %d %q, want the region worked out before", code, body)
	}
}

// TestRegionFallsBackToSTSRegion: a default profile whose SDK configuration
// cannot be loaded (its ca_bundle is missing) reports sts.region.
func TestRegionFallsBackToSTSRegion(t *testing.T) {
	withoutSDKEnvironment(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	r := start(t, "sts: {region: us-east-1}\ndefault_profile: dev\nprofiles:\n  dev: {aws_profile: dev}\n",
		processProfile(t, "dev", "ASIADEV", "s", "t")+fmt.Sprintf("region = ap-southeast-2\nca_bundle = %s\n", missing))
	if code, body := r.imdsGet(t, "/latest/meta-data/placement/region"); code != http.StatusOK || body != "us-east-1" {
		t.Fatalf("region: %d %q, want 200 us-east-1", code, body)
	}
}

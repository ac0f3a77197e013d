package dpop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/credd/credd/dpop"
)

func parts(t *testing.T, jws string) (header, claims map[string]any, signed string, sig []byte) {
	t.Helper()
	p := strings.Split(jws, ".")
	if len(p) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	for i, v := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(p[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(p[2])
	if err != nil {
		t.Fatal(err)
	}
	return header, claims, p[0] + "." + p[1], sig
}

// TestProof: the proof is an ES256 dpop+jwt with the public key (and only
// it) in the header, signed by the key, naming the method, the URL without
// its query, the time, and a fresh jti.
func TestProof(t *testing.T) {
	k, err := dpop.Generate()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	p1, err := k.Proof("POST", "https://eu-west-1.signin.aws.amazon.com/v1/token?x=1#f", now)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := k.Proof("POST", "https://eu-west-1.signin.aws.amazon.com/v1/token", now)
	h, c, signed, sig := parts(t, p1)
	_, c2, _, _ := parts(t, p2)
	if h["typ"] != "dpop+jwt" || h["alg"] != "ES256" {
		t.Errorf("header %v", h)
	}
	jwk, _ := h["jwk"].(map[string]any)
	if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jwk["d"] != nil || len(jwk) != 4 {
		t.Errorf("jwk %v: want kty, crv, x, y only", jwk)
	}
	if c["htm"] != "POST" || c["htu"] != "https://eu-west-1.signin.aws.amazon.com/v1/token" || c["iat"] != float64(now.Unix()) ||
		c["jti"] == "" || c["jti"] == c2["jti"] || len(c) != 4 {
		t.Errorf("claims %v (and %v)", c, c2)
	}
	x, _ := base64.RawURLEncoding.DecodeString(jwk["x"].(string))
	y, _ := base64.RawURLEncoding.DecodeString(jwk["y"].(string))
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(signed))
	if len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Error("the signature does not verify with the header's key")
	}
	// RFC 7638: the SHA-256 of the required members in lexicographic order.
	canon := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, jwk["x"], jwk["y"])
	want := sha256.Sum256([]byte(canon))
	if k.Thumbprint() != base64.RawURLEncoding.EncodeToString(want[:]) {
		t.Errorf("thumbprint %s, want %s", k.Thumbprint(), base64.RawURLEncoding.EncodeToString(want[:]))
	}
	if strings.Contains(k.String(), "PRIVATE") || !strings.Contains(k.String(), k.Thumbprint()) {
		t.Errorf("String() = %s", k)
	}
}

// TestPEM: the key survives its PEM form (SEC 1, as the AWS CLI writes),
// PKCS #8 is read too, and anything else is refused.
func TestPEM(t *testing.T) {
	k, err := dpop.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.PEM(), "-----BEGIN EC PRIVATE KEY-----\n") {
		t.Errorf("PEM %q...", k.PEM()[:30])
	}
	back, err := dpop.Parse(k.PEM())
	if err != nil || !back.Equal(k) || back.Thumbprint() != k.Thumbprint() {
		t.Fatalf("round trip: %v", err)
	}
	other, _ := dpop.Generate()
	if other.Equal(k) {
		t.Error("two generated keys are equal")
	}

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(p256)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sec1p384, _ := x509.MarshalECPrivateKey(p384)
	for _, tc := range []struct {
		name string
		pem  string
		ok   bool
	}{
		{"PKCS #8", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})), true},
		{"P-384", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1p384})), false},
		{"certificate block", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pkcs8})), false},
		{"not PEM", "hello", false},
		{"garbage SEC 1", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dpop.Parse(tc.pem)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, dpop.ErrNoKey) && !strings.Contains(err.Error(), "P-256")) {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

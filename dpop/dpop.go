// Package dpop owns the proof-of-possession keys of AWS Sign-In sessions
// (OAuth 2.0 DPoP, RFC 9449): generating the P-256 key a session keeps for
// its whole life, its PEM form (the one the AWS CLI keeps in its login
// cache), its thumbprint, and the proofs — ES256 JWTs of type dpop+jwt
// naming the request's method and URL — that bind every token request to
// the key. A refresh token the service bound to a key renews nothing
// without a proof signed by that key.
package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Key is a session's DPoP key.
type Key struct {
	priv   *ecdsa.PrivateKey
	signer jose.Signer
}

// Generate makes a new P-256 key.
func Generate() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the DPoP key: %w", err)
	}
	return newKey(priv)
}

func newKey(priv *ecdsa.PrivateKey) (*Key, error) {
	if priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("the DPoP key is on %s, want P-256", priv.Curve.Params().Name)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, fmt.Errorf("preparing the DPoP signer: %w", err)
	}
	return &Key{priv: priv, signer: s}, nil
}

// ErrNoKey: the text holds no usable key.
var ErrNoKey = errors.New("no P-256 private key in PEM")

// Parse reads a key in PEM: "EC PRIVATE KEY" (SEC 1, what the AWS CLI
// writes and aws-sdk-go-v2 reads) or "PRIVATE KEY" (PKCS #8).
func Parse(pemText string) (*Key, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, ErrNoKey
	}
	var priv *ecdsa.PrivateKey
	switch block.Type {
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoKey, err)
		}
		priv = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoKey, err)
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: a %T", ErrNoKey, k)
		}
		priv = ec
	default:
		return nil, fmt.Errorf("%w: a %q block", ErrNoKey, block.Type)
	}
	return newKey(priv)
}

// PEM is the key as the AWS CLI keeps it: SEC 1, "EC PRIVATE KEY".
// It is a secret.
func (k *Key) PEM() string {
	der, err := x509.MarshalECPrivateKey(k.priv)
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the public key,
// base64url: what the service binds refresh tokens to.
func (k *Key) Thumbprint() string {
	sum, err := (&jose.JSONWebKey{Key: &k.priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// Equal reports whether two keys are the same key.
func (k *Key) Equal(o *Key) bool { return k != nil && o != nil && k.priv.Equal(o.priv) }

// String never shows the key.
func (k *Key) String() string { return "dpop.Key{" + k.Thumbprint() + "}" }

// Proof signs a proof for one request: htm the method, htu the URL
// without query or fragment, iat now, and a random jti.
func (k *Key) Proof(method, target string, now time.Time) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("DPoP proof for %q: %w", target, err)
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims, err := json.Marshal(struct {
		JTI string `json:"jti"`
		HTM string `json:"htm"`
		HTU string `json:"htu"`
		IAT int64  `json:"iat"`
	}{base64.RawURLEncoding.EncodeToString(jti), method, u.String(), now.Unix()})
	if err != nil {
		return "", err
	}
	jws, err := k.signer.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("signing the DPoP proof: %w", err)
	}
	return jws.CompactSerialize()
}

package source

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Key prefixes of the text forms of ed25519 keys.
const (
	PublicKeyPrefix  = "ed25519:"
	PrivateKeyPrefix = "ed25519-private:"
)

// Digest returns the hex sha256 of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// CheckDigest compares b's sha256 to want (hex, optionally prefixed with
// "sha256:"); an empty want always matches.
func CheckDigest(b []byte, want string) error {
	if want == "" {
		return nil
	}
	want = strings.ToLower(strings.TrimPrefix(want, "sha256:"))
	if got := Digest(b); got != want {
		return fmt.Errorf("%w: the object is sha256:%s, expected sha256:%s", ErrDigest, got, want)
	}
	return nil
}

// GenerateKey returns a new key pair in text form (PublicKeyPrefix and
// PrivateKeyPrefix followed by standard base64).
func GenerateKey() (public, private string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("source: generate key: %w", err)
	}
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub),
		PrivateKeyPrefix + base64.StdEncoding.EncodeToString(priv.Seed()), nil
}

// ParsePublicKey parses "ed25519:<base64 of 32 bytes>".
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), PublicKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: public key must start with %q", ErrSignature, PublicKeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key must be %d bytes in standard base64", ErrSignature, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// ParsePrivateKey parses "ed25519-private:<base64 of the 32-byte seed>".
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), PrivateKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: private key must start with %q", ErrSignature, PrivateKeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: private key must be a %d-byte seed in standard base64", ErrSignature, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// Sign returns the signature file content for data: the base64 of its
// ed25519 signature and a newline.
func Sign(priv ed25519.PrivateKey, data []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(priv, data)) + "\n")
}

// VerifySignature checks sig (a signature file's content, as Sign writes
// it) over data with pub.
func VerifySignature(pub ed25519.PublicKey, data, sig []byte) error {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(sig)))
	if err != nil || len(raw) != ed25519.SignatureSize {
		return fmt.Errorf("%w: the signature is not %d bytes in standard base64", ErrSignature, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, data, raw) {
		return fmt.Errorf("%w: the signature does not match the module and the public key", ErrSignature)
	}
	return nil
}

// CheckWasm refuses anything but a core WebAssembly module (version 1),
// naming what it got: empty, not Wasm, or a component-model component.
func CheckWasm(b []byte) error {
	switch {
	case len(b) == 0:
		return fmt.Errorf("%w: empty (0 bytes)", ErrNotWasm)
	case len(b) < 8 || string(b[:4]) != "\x00asm":
		n := min(len(b), 8)
		return fmt.Errorf("%w: starts with %q, want \"\\x00asm\"", ErrNotWasm, b[:n])
	case b[6] == 0x01 && b[7] == 0x00 && (b[4] != 0x01 || b[5] != 0x00):
		return fmt.Errorf("%w: a WebAssembly component (component-model layer 1, version 0x%02x%02x); weir runs core modules only", ErrNotWasm, b[5], b[4])
	case string(b[4:8]) != "\x01\x00\x00\x00":
		return fmt.Errorf("%w: unknown binary version % x (want 01 00 00 00)", ErrNotWasm, b[4:8])
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/host/source"
)

// signOptions are the flags of "weir sign".
type signOptions struct {
	generate string
	key      string
	out      string
}

func newSignCmd(g *globals) *cobra.Command {
	var o signOptions
	cmd := &cobra.Command{
		Use:   "sign (--generate-key KEYFILE | -k KEYFILE module.wasm)",
		Short: "Generate an ed25519 key pair, or sign a module",
		Long: `With --generate-key, sign writes a new ed25519 private key to KEYFILE
(mode 0600) and its public key to KEYFILE.pub, and prints the public key:
put it in a stage's public_key.

With -k, sign writes the signature of module.wasm to module.wasm.sig (or -o):
publish it next to the module (s3://bucket/key.sig, appconfig profile
"<profile>.sig", ...) or name it in the stage's "signature".`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.generate != "" && len(args) == 0 && o.key == "":
				pub, priv, err := source.GenerateKey()
				if err != nil {
					return err
				}
				if err := writeNew(o.generate, priv+"\n", 0o600); err != nil {
					return err
				}
				if err := writeNew(o.generate+".pub", pub+"\n", 0o644); err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, pub)
				return nil
			case o.generate == "" && o.key != "" && len(args) == 1:
				b, err := os.ReadFile(o.key)
				if err != nil {
					return fmt.Errorf("sign: key: %w", err)
				}
				priv, err := source.ParsePrivateKey(string(b))
				if err != nil {
					return fmt.Errorf("sign: key %s: %w", o.key, err)
				}
				data, err := os.ReadFile(args[0])
				if err != nil {
					return fmt.Errorf("sign: %w", err)
				}
				out := o.out
				if out == "" {
					out = args[0] + ".sig"
				}
				if err := os.WriteFile(out, source.Sign(priv, data), 0o644); err != nil {
					return fmt.Errorf("sign: %w", err)
				}
				fmt.Fprintf(g.stdout, "%s sha256:%s signed: %s\n", args[0], source.Digest(data), out)
				return nil
			}
			return errors.New("sign: use either --generate-key KEYFILE, or -k KEYFILE module.wasm")
		},
	}
	cmd.Flags().StringVar(&o.generate, "generate-key", "", "write a new key pair to this file and FILE.pub")
	cmd.Flags().StringVarP(&o.key, "key", "k", "", "private key file (from --generate-key)")
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "signature file (default: the module's path + .sig)")
	return cmd
}

// writeNew writes a file that must not exist yet.
func writeNew(path, content string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if _, err := f.WriteString(content); err != nil {
		_ = f.Close()
		return fmt.Errorf("sign: %w", err)
	}
	return f.Close()
}

// readKeyArg returns a public key given inline ("ed25519:...") or as a
// file holding it.
func readKeyArg(s string) (string, error) {
	if strings.HasPrefix(s, source.PublicKeyPrefix) {
		return s, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return "", fmt.Errorf("public key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

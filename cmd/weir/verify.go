package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/host/source"
)

// verifyOptions are the flags of "weir verify".
type verifyOptions struct {
	publicKey string
	signature string
	sha256    string
}

func newVerifyCmd(g *globals) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify --public-key KEY module.wasm",
		Short: "Check a module's signature (and digest) the way weir does before loading it",
		Long: `Verify checks module.wasm against its signature (module.wasm.sig, or
--signature) and the public key (inline "ed25519:..." or a .pub file), and
against --sha256 when given, then that it is a core WebAssembly module. Exit
status 0 when all hold, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			fail := func(err error) error {
				fmt.Fprintf(g.stderr, "weir: verify %s: %v\n", args[0], err)
				return exitError{code: exitFailed}
			}
			if err := source.CheckDigest(data, o.sha256); err != nil {
				return fail(err)
			}
			if o.publicKey != "" {
				k, err := readKeyArg(o.publicKey)
				if err != nil {
					return fmt.Errorf("verify: %w", err)
				}
				pub, err := source.ParsePublicKey(k)
				if err != nil {
					return fmt.Errorf("verify: %w", err)
				}
				sigPath := o.signature
				if sigPath == "" {
					sigPath = args[0] + ".sig"
				}
				sig, err := os.ReadFile(sigPath)
				if err != nil {
					return fail(fmt.Errorf("%w: %w", source.ErrSignature, err))
				}
				if err := source.VerifySignature(pub, data, sig); err != nil {
					return fail(err)
				}
			}
			if err := source.CheckWasm(data); err != nil {
				return fail(err)
			}
			fmt.Fprintf(g.stdout, "%s sha256:%s ok\n", args[0], source.Digest(data))
			return nil
		},
	}
	cmd.Flags().StringVar(&o.publicKey, "public-key", "", `public key: "ed25519:..." or a file holding it`)
	cmd.Flags().StringVar(&o.signature, "signature", "", "signature file (default: the module's path + .sig)")
	cmd.Flags().StringVar(&o.sha256, "sha256", "", "expected sha256 of the module")
	return cmd
}

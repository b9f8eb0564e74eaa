//go:build !amd64 || !gc || purego

package b64

// hasVBMI is false: decodeVBMI is amd64 assembly.
const hasVBMI = false

// decodeVBMI is never called where hasVBMI is false.
func decodeVBMI(dst, src []byte) (nd, ns int) { return 0, 0 }

//go:build !amd64 || !gc || purego

package kpl

// hasX16 is false: md5x16 is amd64 assembly.
const hasX16 = false

// sum16 is never called where hasX16 is false.
func sum16([][]byte, []int, [][DigestSize]byte) { panic("kpl: sum16 without md5x16") }

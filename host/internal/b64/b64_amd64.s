//go:build amd64 && gc && !purego

#include "textflag.h"

// func decodeVBMI(dst, src []byte) (nd, ns int)
//
// Per 64 characters: VPERMI2B maps each (its low 7 bits) to its 6-bit
// value through two 64-byte tables, 0x80 outside the alphabet; a
// character or value with its top bit set stops the loop before the
// block. VPMADDUBSW joins pairs of values into 12 bits, VPMADDWD pairs of
// those into 24, and VPERMB picks the 48 bytes, stored under a mask.
TEXT ·decodeVBMI(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $6, CX // blocks
	XORQ AX, AX // bytes written
	XORQ BX, BX // characters read

	LEAQ         ·vbmiLookup(SB), R8
	VMOVDQU64    (R8), Z20   // table for characters 0x00-0x3f
	VMOVDQU64    64(R8), Z21 // table for characters 0x40-0x7f
	LEAQ         ·vbmiPack(SB), R8
	VMOVDQU64    (R8), Z22
	MOVL         $0x01400140, R9
	VPBROADCASTD R9, Z23
	MOVL         $0x00011000, R9
	VPBROADCASTD R9, Z24
	MOVQ         $0x0000ffffffffffff, R9
	KMOVQ        R9, K2

	TESTQ CX, CX
	JZ    done

loop:
	VMOVDQU64  (SI)(BX*1), Z0
	VMOVDQA64  Z0, Z1
	VPERMI2B   Z21, Z20, Z1 // Z1 = value of each character
	VPORQ      Z0, Z1, Z2
	VPMOVB2M   Z2, K1
	KORTESTQ   K1, K1
	JNZ        done
	VPMADDUBSW Z23, Z1, Z1
	VPMADDWD   Z24, Z1, Z1
	VPERMB     Z1, Z22, Z1
	VMOVDQU8   Z1, K2, (DI)(AX*1)
	ADDQ       $48, AX
	ADDQ       $64, BX
	DECQ       CX
	JNZ        loop

done:
	VZEROUPPER
	MOVQ AX, nd+48(FP)
	MOVQ BX, ns+56(FP)
	RET

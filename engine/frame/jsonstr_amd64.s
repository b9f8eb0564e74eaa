//go:build !purego

#include "textflag.h"

// func maskBlocksAVX2(p unsafe.Pointer, n int, out *uint64)
//
// For each 64-byte block at p: a byte is special when it is below 0x20
// or 0x80 and above (0x20 > b as signed bytes), '"' or '\\'. The two
// 32-bit PMOVMSKB masks of the block make one 64-bit word of out.
TEXT ·maskBlocksAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), DI
	TESTQ CX, CX
	JLE  done
	MOVL $0x20, AX
	MOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVL $0x22, AX
	MOVQ AX, X2
	VPBROADCASTB X2, Y2
	MOVL $0x5c, AX
	MOVQ AX, X3
	VPBROADCASTB X3, Y3

loop:
	VMOVDQU (SI), Y4
	VMOVDQU 32(SI), Y5
	VPCMPGTB Y4, Y1, Y6
	VPCMPEQB Y2, Y4, Y7
	VPCMPEQB Y3, Y4, Y8
	VPOR     Y7, Y6, Y6
	VPOR     Y8, Y6, Y6
	VPCMPGTB Y5, Y1, Y9
	VPCMPEQB Y2, Y5, Y10
	VPCMPEQB Y3, Y5, Y11
	VPOR     Y10, Y9, Y9
	VPOR     Y11, Y9, Y9
	VPMOVMSKB Y6, AX
	VPMOVMSKB Y9, BX
	SHLQ $32, BX
	ORQ  BX, AX
	MOVQ AX, (DI)
	ADDQ $64, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  loop
	VZEROUPPER

done:
	RET

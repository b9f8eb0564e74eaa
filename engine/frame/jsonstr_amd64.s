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

// func escapeQuotesSSSE3(dst, src *byte, n int, tab *[256][16]byte) (read, written int)
//
// Copies src to dst 16 bytes at a time with a backslash before each '"'
// and '\\', while the 16 bytes hold no other special (below 0x20, 0x80
// and above): it stops before the first block that does, or when fewer
// than 16 bytes are left. Each 8-byte half goes through PSHUFB with
// tab[its mask of quotes and backslashes] over the half and 8
// backslashes (index 8), one 16-byte store per half: dst needs room for
// 2*n+16 bytes.
TEXT ·escapeQuotesSSSE3(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ tab+24(FP), R8
	MOVQ DI, R9
	XORQ AX, AX
	MOVL $0x20202020, DX
	MOVQ DX, X10
	PSHUFD $0, X10, X10
	MOVL $0x22222222, DX
	MOVQ DX, X11
	PSHUFD $0, X11, X11
	MOVL $0x5c5c5c5c, DX
	MOVQ DX, X12
	PSHUFD $0, X12, X12

loop:
	LEAQ 16(AX), DX
	CMPQ DX, CX
	JGT  done
	MOVOU (SI)(AX*1), X0
	MOVO  X10, X1
	PCMPGTB X0, X1
	PMOVMSKB X1, DX
	TESTL DX, DX
	JNZ  done
	MOVO  X0, X2
	PCMPEQB X11, X2
	MOVO  X0, X3
	PCMPEQB X12, X3
	POR   X3, X2
	PMOVMSKB X2, DX
	// Each half's shuffle, and where its bytes go: the high half after
	// the low one's 8+popcount bytes, the next block after 16+popcount
	// (one addition on the chain from block to block).
	MOVQ  DX, BX
	ANDQ  $0xff, BX
	MOVQ  DX, R11
	SHRQ  $8, R11
	POPCNTQ BX, R12
	POPCNTQ DX, R13
	SHLQ  $4, BX
	SHLQ  $4, R11
	MOVO  X0, X4
	PUNPCKLQDQ X12, X4
	MOVOU (R8)(BX*1), X5
	PSHUFB X5, X4
	MOVOU X4, (DI)
	MOVO  X0, X6
	PUNPCKHQDQ X12, X6
	MOVOU (R8)(R11*1), X7
	PSHUFB X7, X6
	MOVOU X6, 8(DI)(R12*1)
	LEAQ  16(DI)(R13*1), DI
	ADDQ  $16, AX
	JMP   loop

done:
	MOVQ AX, read+32(FP)
	SUBQ R9, DI
	MOVQ DI, written+40(FP)
	RET

// Copyright (c) 2020 MinIO Inc. All rights reserved.
// Use of this source code is governed by a license that can be
// found in the LICENSE file (LICENSE.md5-simd here).
//
// Derived from the AVX-512 MD5 block function of github.com/minio/md5-simd
// v1.1.2 (block16_amd64.s, Apache License 2.0): its rounds 2-4 and
// register plan unchanged; the 16 gathers per block that loaded the
// message words replaced by 16 plain loads and a 16x16 transpose, and
// the first round reading the transposed words (md5x16t, 2-4x faster on
// AMD EPYC, whose gathers are slow). weir calls it on its own buffers,
// with no copy (see md5x16_amd64.go).

//go:build amd64 && gc && !purego

#define ROUND2(a, b, c, d, zreg, const, shift) \
	VPADDD     64*const(consts), a, a \
	VPADDD     zreg, a, a             \
	VANDNPD    c, tmp, tmp            \
	VPTERNLOGD $0xEC, b, tmp, tmp2    \
	VMOVAPD    c, tmp                 \
	VPADDD     tmp2, a, a             \
	VMOVAPD    c, tmp2                \
	VPROLD     $shift, a, a           \
	VPADDD     b, a, a

#define ROUND3(a, b, c, d, zreg, const, shift) \
	VPADDD     64*const(consts), a, a \
	VPADDD     zreg, a, a             \
	VPTERNLOGD $0x96, b, d, tmp       \
	VPADDD     tmp, a, a              \
	VPROLD     $shift, a, a           \
	VMOVAPD    b, tmp                 \
	VPADDD     b, a, a

#define ROUND4(a, b, c, d, zreg, const, shift) \
	VPADDD     64*const(consts), a, a \
	VPADDD     zreg, a, a             \
	VPTERNLOGD $0x36, b, c, tmp       \
	VPADDD     tmp, a, a              \
	VPROLD     $shift, a, a           \
	VPXORQ     c, ones, tmp           \
	VPADDD     b, a, a

#define a Z0
#define b Z1
#define c Z2
#define d Z3

#define sa Z4
#define sb Z5
#define sc Z6
#define sd Z7

#define tmp    Z8
#define tmp2   Z9
#define ones   Z12

// Z4-Z7 (sa-sd) are the transpose's scratch before they keep the state;
// Z16-Z31 hold the block's 16 message words, one per register, each with
// its 16 lanes.

#define dig    BX
#define consts DI

// md5x16t(state *uint32, p *[16]uintptr, n int) runs n/64 MD5 blocks (n a
// multiple of 64, at least 64) in each of 16 lanes, lane k reading from
// p[k] onwards: each lane's 64-byte block is loaded whole into Z16+k, and
// a 16x16 transpose of 32-bit words (unpacks within 128-bit lanes, then
// 128-bit shuffles) leaves word j of every lane in Z16+j. Every lane is
// hashed: one not in use must point at n readable bytes (another lane's)
// and its state is overwritten.
#define ROUND1x(a, b, c, d, zreg, const, shift) \
	VPXORQ     c, tmp, tmp            \
	VPADDD     64*const(consts), a, a \
	VPADDD     zreg, a, a             \
	VPTERNLOGD $0x6C, b, d, tmp       \
	VPADDD     tmp, a, a              \
	VPROLD     $shift, a, a           \
	VMOVAPD    c, tmp                 \
	VPADDD     b, a, a

// TRANS4(r0, r1, r2, r3): words and quadwords within 128-bit lanes.
#define TRANS4(r0, r1, r2, r3) \
	VPUNPCKLDQ r1, r0, Z4  \
	VPUNPCKHDQ r1, r0, Z5  \
	VPUNPCKLDQ r3, r2, Z6  \
	VPUNPCKHDQ r3, r2, Z7  \
	VPUNPCKLQDQ Z6, Z4, r0 \
	VPUNPCKHQDQ Z6, Z4, r1 \
	VPUNPCKLQDQ Z7, Z5, r2 \
	VPUNPCKHQDQ Z7, Z5, r3

// SHUF4(A, B, C, D): 128-bit lanes across four registers.
#define SHUF4(A, B, C, D) \
	VSHUFI32X4 $0x88, B, A, Z4 \
	VSHUFI32X4 $0xDD, B, A, Z5 \
	VSHUFI32X4 $0x88, D, C, Z6 \
	VSHUFI32X4 $0xDD, D, C, Z7 \
	VSHUFI32X4 $0x88, Z6, Z4, A \
	VSHUFI32X4 $0xDD, Z6, Z4, C \
	VSHUFI32X4 $0x88, Z7, Z5, B \
	VSHUFI32X4 $0xDD, Z7, Z5, D

TEXT ·md5x16t(SB), 4, $0-24
	MOVQ state+0(FP), BX
	MOVQ p+8(FP), AX
	MOVQ n+16(FP), DX
	MOVQ ·md5x16Consts+0(SB), DI
	XORQ CX, CX

	VMOVUPD (dig), a
	VMOVUPD 0x40(dig), b
	VMOVUPD 0x80(dig), c
	VMOVUPD 0xc0(dig), d

	MOVQ         $-1, R9
	VPBROADCASTQ R9, ones

tloop:
	MOVQ      0(AX), R8
	VMOVDQU32 (R8)(CX*1), Z16
	MOVQ      8(AX), R8
	VMOVDQU32 (R8)(CX*1), Z17
	MOVQ      16(AX), R8
	VMOVDQU32 (R8)(CX*1), Z18
	MOVQ      24(AX), R8
	VMOVDQU32 (R8)(CX*1), Z19
	MOVQ      32(AX), R8
	VMOVDQU32 (R8)(CX*1), Z20
	MOVQ      40(AX), R8
	VMOVDQU32 (R8)(CX*1), Z21
	MOVQ      48(AX), R8
	VMOVDQU32 (R8)(CX*1), Z22
	MOVQ      56(AX), R8
	VMOVDQU32 (R8)(CX*1), Z23
	MOVQ      64(AX), R8
	VMOVDQU32 (R8)(CX*1), Z24
	MOVQ      72(AX), R8
	VMOVDQU32 (R8)(CX*1), Z25
	MOVQ      80(AX), R8
	VMOVDQU32 (R8)(CX*1), Z26
	MOVQ      88(AX), R8
	VMOVDQU32 (R8)(CX*1), Z27
	MOVQ      96(AX), R8
	VMOVDQU32 (R8)(CX*1), Z28
	MOVQ      104(AX), R8
	VMOVDQU32 (R8)(CX*1), Z29
	MOVQ      112(AX), R8
	VMOVDQU32 (R8)(CX*1), Z30
	MOVQ      120(AX), R8
	VMOVDQU32 (R8)(CX*1), Z31
	TRANS4(Z16, Z17, Z18, Z19)
	TRANS4(Z20, Z21, Z22, Z23)
	TRANS4(Z24, Z25, Z26, Z27)
	TRANS4(Z28, Z29, Z30, Z31)
	SHUF4(Z16, Z20, Z24, Z28)
	SHUF4(Z17, Z21, Z25, Z29)
	SHUF4(Z18, Z22, Z26, Z30)
	SHUF4(Z19, Z23, Z27, Z31)

	VMOVAPD a, sa
	VMOVAPD b, sb
	VMOVAPD c, sc
	VMOVAPD d, sd
	VMOVAPD d, tmp

	ROUND1x(a,b,c,d, Z16,0x00, 7)
	ROUND1x(d,a,b,c, Z17,0x01,12)
	ROUND1x(c,d,a,b, Z18,0x02,17)
	ROUND1x(b,c,d,a, Z19,0x03,22)
	ROUND1x(a,b,c,d, Z20,0x04, 7)
	ROUND1x(d,a,b,c, Z21,0x05,12)
	ROUND1x(c,d,a,b, Z22,0x06,17)
	ROUND1x(b,c,d,a, Z23,0x07,22)
	ROUND1x(a,b,c,d, Z24,0x08, 7)
	ROUND1x(d,a,b,c, Z25,0x09,12)
	ROUND1x(c,d,a,b, Z26,0x0a,17)
	ROUND1x(b,c,d,a, Z27,0x0b,22)
	ROUND1x(a,b,c,d, Z28,0x0c, 7)
	ROUND1x(d,a,b,c, Z29,0x0d,12)
	ROUND1x(c,d,a,b, Z30,0x0e,17)
	ROUND1x(b,c,d,a, Z31,0x0f,22)

	VMOVAPD d, tmp
	VMOVAPD d, tmp2

	ROUND2(a,b,c,d, Z17,0x10, 5)
	ROUND2(d,a,b,c, Z22,0x11, 9)
	ROUND2(c,d,a,b, Z27,0x12,14)
	ROUND2(b,c,d,a, Z16,0x13,20)
	ROUND2(a,b,c,d, Z21,0x14, 5)
	ROUND2(d,a,b,c, Z26,0x15, 9)
	ROUND2(c,d,a,b, Z31,0x16,14)
	ROUND2(b,c,d,a, Z20,0x17,20)
	ROUND2(a,b,c,d, Z25,0x18, 5)
	ROUND2(d,a,b,c, Z30,0x19, 9)
	ROUND2(c,d,a,b, Z19,0x1a,14)
	ROUND2(b,c,d,a, Z24,0x1b,20)
	ROUND2(a,b,c,d, Z29,0x1c, 5)
	ROUND2(d,a,b,c, Z18,0x1d, 9)
	ROUND2(c,d,a,b, Z23,0x1e,14)
	ROUND2(b,c,d,a, Z28,0x1f,20)

	VMOVAPD c, tmp

	ROUND3(a,b,c,d, Z21,0x20, 4)
	ROUND3(d,a,b,c, Z24,0x21,11)
	ROUND3(c,d,a,b, Z27,0x22,16)
	ROUND3(b,c,d,a, Z30,0x23,23)
	ROUND3(a,b,c,d, Z17,0x24, 4)
	ROUND3(d,a,b,c, Z20,0x25,11)
	ROUND3(c,d,a,b, Z23,0x26,16)
	ROUND3(b,c,d,a, Z26,0x27,23)
	ROUND3(a,b,c,d, Z29,0x28, 4)
	ROUND3(d,a,b,c, Z16,0x29,11)
	ROUND3(c,d,a,b, Z19,0x2a,16)
	ROUND3(b,c,d,a, Z22,0x2b,23)
	ROUND3(a,b,c,d, Z25,0x2c, 4)
	ROUND3(d,a,b,c, Z28,0x2d,11)
	ROUND3(c,d,a,b, Z31,0x2e,16)
	ROUND3(b,c,d,a, Z18,0x2f,23)

	VPXORQ d, ones, tmp

	ROUND4(a,b,c,d, Z16,0x30, 6)
	ROUND4(d,a,b,c, Z23,0x31,10)
	ROUND4(c,d,a,b, Z30,0x32,15)
	ROUND4(b,c,d,a, Z21,0x33,21)
	ROUND4(a,b,c,d, Z28,0x34, 6)
	ROUND4(d,a,b,c, Z19,0x35,10)
	ROUND4(c,d,a,b, Z26,0x36,15)
	ROUND4(b,c,d,a, Z17,0x37,21)
	ROUND4(a,b,c,d, Z24,0x38, 6)
	ROUND4(d,a,b,c, Z31,0x39,10)
	ROUND4(c,d,a,b, Z22,0x3a,15)
	ROUND4(b,c,d,a, Z29,0x3b,21)
	ROUND4(a,b,c,d, Z20,0x3c, 6)
	ROUND4(d,a,b,c, Z27,0x3d,10)
	ROUND4(c,d,a,b, Z18,0x3e,15)
	ROUND4(b,c,d,a, Z25,0x3f,21)

	VPADDD sa, a, a
	VPADDD sb, b, b
	VPADDD sc, c, c
	VPADDD sd, d, d

	ADDQ $64, CX
	SUBQ $64, DX
	JNE  tloop

	VMOVUPD a, (dig)
	VMOVUPD b, 0x40(dig)
	VMOVUPD c, 0x80(dig)
	VMOVUPD d, 0xc0(dig)

	VZEROUPPER
	RET

// Encoding table for the x86 decoder: the host unit test checks every row,
// and the differential fuzzer (tests/fuzz) replays and mutates the rows.
// Expected values come from the Intel SDM vol.2 instruction pages and opcode
// maps; a field left at -1 is not checked. For the 0F map, `opcode` is
// 0x0fXX. Every decodable row is decoded from exactly its own bytes, so a
// wrong length shows up as `truncated` or as a length mismatch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/decode.h"

namespace decode_cases {

constexpr int kNone = -2;  // base/index: absent
constexpr int kRip = 16;   // base: RIP-relative

struct Case {
  const char* text;
  const char* hex;
  x86::Status status = x86::Status::ok;
  int length = -1;
  int opcode = -1;
  x86::Kind kind = x86::Kind::other;  // checked whenever status is ok
  int opsize = -1;
  int addrsize = -1;
  int access = -1;
  int reg = -1;
  int rm = -1;
  int base = -1;  // when set, index/scale/disp are checked as well
  int index = kNone;
  int scale = 1;
  long long disp = 0;
  int imm_size = -1;  // when set, imm is checked as well
  unsigned long long imm = 0;
  int imm2 = -1;
  int seg = -1;  // x86::Segment as int
  int rex = -1;
  int rep = -1;  // last_rep
};

using x86::Kind;
using x86::Status;
constexpr int kFs = static_cast<int>(x86::Segment::fs);
constexpr int kGs = static_cast<int>(x86::Segment::gs);
constexpr int kCsSeg = static_cast<int>(x86::Segment::cs);
constexpr int kNoSeg = static_cast<int>(x86::Segment::none);

inline constexpr Case kCases[] = {
    // MOV r/m <-> reg, ModRM/SIB/displacement forms.
    {.text = "mov [rax], ecx", .hex = "89 08", .length = 2, .opcode = 0x89, .kind = Kind::mov_store, .opsize = 4, .addrsize = 8, .access = 4, .reg = 1, .base = 0},
    {.text = "mov [rax], cl", .hex = "88 08", .length = 2, .opcode = 0x88, .kind = Kind::mov_store, .access = 1, .reg = 1, .base = 0},
    {.text = "mov [rax], ah", .hex = "88 20", .length = 2, .kind = Kind::mov_store, .access = 1, .reg = 4, .base = 0, .rex = 0},
    {.text = "mov [rax], spl", .hex = "40 88 20", .length = 3, .kind = Kind::mov_store, .access = 1, .reg = 4, .base = 0, .rex = 0x40},
    {.text = "mov rcx, [rip+0x10]", .hex = "48 8b 0d 10 00 00 00", .length = 7, .opcode = 0x8b, .kind = Kind::mov_load, .opsize = 8, .access = 8, .reg = 1, .base = kRip, .disp = 0x10},
    {.text = "mov r9d, [r12+r13*4+0x7f]", .hex = "47 8b 4c ac 7f", .length = 5, .kind = Kind::mov_load, .opsize = 4, .reg = 9, .base = 12, .index = 13, .scale = 4, .disp = 0x7f},
    {.text = "mov ax, [rbx]", .hex = "66 8b 03", .length = 3, .kind = Kind::mov_load, .opsize = 2, .access = 2, .reg = 0, .base = 3},
    {.text = "mov rax, [rbx] (66 then REX.W: W wins)", .hex = "66 48 8b 03", .length = 4, .kind = Kind::mov_load, .opsize = 8, .access = 8, .base = 3, .rex = 0x48},
    {.text = "mov ax, [rbx] (REX before 66 is ignored)", .hex = "48 66 8b 03", .length = 4, .kind = Kind::mov_load, .opsize = 2, .access = 2, .base = 3, .rex = 0},
    {.text = "mov eax, [r12]", .hex = "41 8b 04 24", .length = 4, .kind = Kind::mov_load, .reg = 0, .base = 12},
    {.text = "mov eax, [r13+0]", .hex = "41 8b 45 00", .length = 4, .kind = Kind::mov_load, .base = 13},
    {.text = "mov eax, [disp32] via SIB", .hex = "8b 04 25 78 56 34 12", .length = 7, .kind = Kind::mov_load, .base = kNone, .disp = 0x12345678},
    {.text = "mov eax, [rip-4]", .hex = "8b 05 fc ff ff ff", .length = 6, .kind = Kind::mov_load, .base = kRip, .disp = -4},
    {.text = "mov eax, [rip] (REX.B does not matter)", .hex = "41 8b 05 00 00 00 00", .length = 7, .kind = Kind::mov_load, .base = kRip},
    {.text = "mov eax, [rax+r12]", .hex = "42 8b 04 20", .length = 4, .kind = Kind::mov_load, .base = 0, .index = 12, .scale = 1},
    {.text = "mov eax, [rax] (SIB index 4: none)", .hex = "8b 04 20", .length = 3, .kind = Kind::mov_load, .base = 0, .index = kNone},
    {.text = "mov eax, [rbp+rcx*8-0x80]", .hex = "8b 44 cd 80", .length = 4, .kind = Kind::mov_load, .base = 5, .index = 1, .scale = 8, .disp = -0x80},
    {.text = "mov eax, [rcx*2+0x1000] no base", .hex = "8b 04 4d 00 10 00 00", .length = 7, .kind = Kind::mov_load, .base = kNone, .index = 1, .scale = 2, .disp = 0x1000},
    {.text = "mov eax, [r13+rax*1+0] (mod 0 base 5 + REX.B is disp32, no base)", .hex = "41 8b 04 05 00 00 00 00", .length = 8, .kind = Kind::mov_load, .base = kNone, .index = 0, .scale = 1},
    {.text = "mov eax, [rsi+0x12345678]", .hex = "8b 86 78 56 34 12", .length = 6, .kind = Kind::mov_load, .base = 6, .disp = 0x12345678},
    {.text = "mov eax, [ebx]", .hex = "67 8b 03", .length = 3, .kind = Kind::mov_load, .addrsize = 4, .base = 3},
    {.text = "mov eax, [eip+0]", .hex = "67 8b 05 00 00 00 00", .length = 7, .kind = Kind::mov_load, .addrsize = 4, .base = kRip},
    {.text = "mov fs:[rax], eax", .hex = "64 89 00", .length = 3, .kind = Kind::mov_store, .base = 0, .seg = kFs},
    {.text = "mov gs:[rax], eax", .hex = "65 89 00", .length = 3, .kind = Kind::mov_store, .seg = kGs},
    {.text = "last segment prefix wins", .hex = "64 65 89 00", .length = 4, .kind = Kind::mov_store, .seg = kGs},
    {.text = "cs override recorded", .hex = "2e 89 00", .length = 3, .kind = Kind::mov_store, .seg = kCsSeg},
    {.text = "mov ecx, eax (register form)", .hex = "89 c1", .length = 2, .kind = Kind::mov_store, .reg = 0, .rm = 1},
    {.text = "mov r15, r8", .hex = "4d 89 c7", .length = 3, .kind = Kind::mov_store, .opsize = 8, .reg = 8, .rm = 15},
    // REX placement.
    {.text = "mov [rax], ah (REX then 66: REX dropped)", .hex = "40 66 88 20", .length = 4, .kind = Kind::mov_store, .reg = 4, .rex = 0},
    {.text = "mov [rax], spl (66 then REX)", .hex = "66 40 88 20", .length = 4, .kind = Kind::mov_store, .reg = 4, .rex = 0x40},
    {.text = "two REX: last one counts (41)", .hex = "48 41 8b 00", .length = 4, .kind = Kind::mov_load, .opsize = 4, .base = 8, .rex = 0x41},
    {.text = "two REX: last one counts (48)", .hex = "41 48 8b 00", .length = 4, .kind = Kind::mov_load, .opsize = 8, .base = 0, .rex = 0x48},
    {.text = "REX.W before f3 ignored", .hex = "48 f3 a5", .length = 3, .kind = Kind::movs, .opsize = 4, .access = 4, .rex = 0},
    // MOV r/m, imm.
    {.text = "mov byte [rax], 0x12", .hex = "c6 00 12", .length = 3, .opcode = 0xc6, .kind = Kind::mov_store_imm, .access = 1, .base = 0, .imm_size = 1, .imm = 0x12},
    {.text = "mov dword [rax+8], 0x11223344", .hex = "c7 40 08 44 33 22 11", .length = 7, .kind = Kind::mov_store_imm, .access = 4, .base = 0, .disp = 8, .imm_size = 4, .imm = 0x11223344},
    {.text = "mov qword [rax], -1", .hex = "48 c7 00 ff ff ff ff", .length = 7, .kind = Kind::mov_store_imm, .opsize = 8, .access = 8, .imm_size = 4, .imm = 0xffffffff},
    {.text = "mov word [rax], 0x1234", .hex = "66 c7 00 34 12", .length = 5, .kind = Kind::mov_store_imm, .access = 2, .imm_size = 2, .imm = 0x1234},
    {.text = "mov dword [rip+0x10], 1", .hex = "c7 05 10 00 00 00 01 00 00 00", .length = 10, .kind = Kind::mov_store_imm, .base = kRip, .disp = 0x10, .imm_size = 4, .imm = 1},
    {.text = "xbegin (C7 /7) not claimed", .hex = "c7 f8 00 00 00 00", .status = Status::unsupported},
    {.text = "C6 /1 is #UD", .hex = "c6 08 00", .status = Status::invalid},
    // MOV moffs.
    {.text = "mov al, [moffs64]", .hex = "a0 88 77 66 55 44 33 22 11", .length = 9, .opcode = 0xa0, .kind = Kind::mov_load_moffs, .access = 1},
    {.text = "mov [moffs64], rax", .hex = "48 a3 08 07 06 05 04 03 02 01", .length = 10, .kind = Kind::mov_store_moffs, .access = 8},
    {.text = "mov eax, [moffs32]", .hex = "67 a1 44 33 22 11", .length = 6, .kind = Kind::mov_load_moffs, .addrsize = 4, .access = 4},
    {.text = "mov ax, [moffs64]", .hex = "66 a1 00 00 00 00 00 00 00 00", .length = 10, .kind = Kind::mov_load_moffs, .access = 2},
    // MOVZX / MOVSX.
    {.text = "movzx eax, byte [rcx]", .hex = "0f b6 01", .length = 3, .opcode = 0x0fb6, .kind = Kind::movzx, .opsize = 4, .access = 1, .reg = 0, .base = 1},
    {.text = "movzx rax, word [rcx]", .hex = "48 0f b7 01", .length = 4, .kind = Kind::movzx, .opsize = 8, .access = 2},
    {.text = "movsx ecx, byte [rax]", .hex = "0f be 08", .length = 3, .kind = Kind::movsx, .access = 1, .reg = 1},
    {.text = "movsx r8w, word [rax]", .hex = "66 44 0f bf 00", .length = 5, .kind = Kind::movsx, .opsize = 2, .access = 2, .reg = 8},
    {.text = "movzx eax, ah", .hex = "0f b6 c4", .length = 3, .kind = Kind::movzx, .rm = 4},
    // String instructions.
    {.text = "rep movsb", .hex = "f3 a4", .length = 2, .kind = Kind::movs, .access = 1, .rep = 0xf3},
    {.text = "rep movsq", .hex = "f3 48 a5", .length = 3, .kind = Kind::movs, .access = 8, .rex = 0x48},
    {.text = "movsw", .hex = "66 a5", .length = 2, .kind = Kind::movs, .access = 2, .rep = 0},
    {.text = "rep stosd", .hex = "f3 ab", .length = 2, .kind = Kind::stos, .access = 4},
    {.text = "rep stosb, 32-bit addresses", .hex = "67 f3 aa", .length = 3, .kind = Kind::stos, .addrsize = 4, .access = 1},
    {.text = "f2 then f3: f3 counts", .hex = "f2 f3 a4", .length = 3, .kind = Kind::movs, .rep = 0xf3},
    {.text = "f3 then f2: f2 counts", .hex = "f3 f2 a4", .length = 3, .kind = Kind::movs, .rep = 0xf2},
    // Port I/O.
    {.text = "in al, 0x80", .hex = "e4 80", .length = 2, .kind = Kind::in_imm, .access = 1, .imm_size = 1, .imm = 0x80},
    {.text = "in eax, 0x71", .hex = "e5 71", .length = 2, .kind = Kind::in_imm, .access = 4},
    {.text = "in ax, 0x71", .hex = "66 e5 71", .length = 3, .kind = Kind::in_imm, .access = 2},
    {.text = "out 0x80, al", .hex = "e6 80", .length = 2, .kind = Kind::out_imm, .access = 1, .imm_size = 1, .imm = 0x80},
    {.text = "out 0xf4, eax", .hex = "e7 f4", .length = 2, .kind = Kind::out_imm, .access = 4},
    {.text = "out dx, eax", .hex = "ef", .length = 1, .kind = Kind::out_dx, .access = 4},
    {.text = "out dx, al", .hex = "ee", .length = 1, .kind = Kind::out_dx, .access = 1},
    {.text = "in ax, dx", .hex = "66 ed", .length = 2, .kind = Kind::in_dx, .access = 2},
    {.text = "in al, dx", .hex = "ec", .length = 1, .kind = Kind::in_dx, .access = 1},
    {.text = "in eax, dx with REX.W (I/O stays 32-bit)", .hex = "48 ed", .length = 2, .kind = Kind::in_dx, .access = 4},
    {.text = "rep insb", .hex = "f3 6c", .length = 2, .kind = Kind::ins, .access = 1},
    {.text = "insd", .hex = "6d", .length = 1, .kind = Kind::ins, .access = 4},
    {.text = "rep outsw", .hex = "f3 66 6f", .length = 3, .kind = Kind::outs, .access = 2},
    {.text = "rep outsb fs:[rsi]", .hex = "64 f3 6e", .length = 3, .kind = Kind::outs, .access = 1, .seg = kFs},
    // Intercepted system instructions.
    {.text = "cpuid", .hex = "0f a2", .length = 2, .opcode = 0x0fa2, .kind = Kind::cpuid},
    {.text = "rdmsr", .hex = "0f 32", .length = 2, .kind = Kind::rdmsr},
    {.text = "wrmsr", .hex = "0f 30", .length = 2, .kind = Kind::wrmsr},
    {.text = "rdtsc", .hex = "0f 31", .length = 2, .kind = Kind::rdtsc},
    {.text = "rdtscp", .hex = "0f 01 f9", .length = 3, .kind = Kind::rdtscp},
    {.text = "vmmcall", .hex = "0f 01 d9", .length = 3, .kind = Kind::vmmcall},
    {.text = "vmcall", .hex = "0f 01 c1", .length = 3, .kind = Kind::vmcall},
    {.text = "wbinvd", .hex = "0f 09", .length = 2, .kind = Kind::wbinvd},
    {.text = "hlt", .hex = "f4", .length = 1, .opcode = 0xf4, .kind = Kind::hlt},
    {.text = "mov rax, dr7", .hex = "0f 21 f8", .length = 3, .kind = Kind::mov_from_dr, .opsize = 8, .reg = 7, .rm = 0},
    {.text = "mov dr7, rcx", .hex = "0f 23 f9", .length = 3, .kind = Kind::mov_to_dr, .reg = 7, .rm = 1},
    {.text = "mov rax, dr7 with mod 0 (mod ignored)", .hex = "0f 21 38", .length = 3, .kind = Kind::mov_from_dr, .reg = 7, .rm = 0},
    {.text = "mov r9, dr0", .hex = "41 0f 21 c1", .length = 4, .kind = Kind::mov_from_dr, .reg = 0, .rm = 9},
    {.text = "DR8 does not exist", .hex = "44 0f 21 f8", .status = Status::invalid},
    {.text = "mov rax, cr8", .hex = "44 0f 20 c0", .length = 4, .reg = 8},
    {.text = "mov cr3, rax", .hex = "0f 22 d8", .length = 3, .reg = 3},
    {.text = "CR1 does not exist", .hex = "0f 20 c8", .status = Status::invalid},
    {.text = "swapgs", .hex = "0f 01 f8", .length = 3},
    {.text = "invlpg [rax]", .hex = "0f 01 38", .length = 3, .base = 0},
    {.text = "lgdt [rip+0]", .hex = "0f 01 15 00 00 00 00", .length = 7, .base = kRip},
    {.text = "smsw eax", .hex = "0f 01 e0", .length = 3},
    {.text = "enclu (0f 01 d7) not claimed", .hex = "0f 01 d7", .status = Status::unsupported},
    {.text = "ltr ax", .hex = "0f 00 d8", .length = 3},
    {.text = "0f 00 /6 is #UD", .hex = "0f 00 f0", .status = Status::invalid},
    {.text = "mfence", .hex = "0f ae f0", .length = 3},
    {.text = "lfence", .hex = "0f ae e8", .length = 3},
    {.text = "fxsave not claimed", .hex = "0f ae 00", .status = Status::unsupported},
    // General integer instructions.
    {.text = "add eax, 1", .hex = "83 c0 01", .length = 3, .imm_size = 1, .imm = 1},
    {.text = "add rax, imm32", .hex = "48 05 78 56 34 12", .length = 6, .opsize = 8, .imm_size = 4, .imm = 0x12345678},
    {.text = "add ax, imm16", .hex = "66 05 34 12", .length = 4, .imm_size = 2, .imm = 0x1234},
    {.text = "add ecx, imm32", .hex = "81 c1 78 56 34 12", .length = 6},
    {.text = "add cx, imm16", .hex = "66 81 c1 34 12", .length = 5},
    {.text = "lock add [rax], eax", .hex = "f0 01 00", .length = 3},
    {.text = "cmp byte [rsp+8], 0", .hex = "80 7c 24 08 00", .length = 5, .base = 4, .disp = 8},
    {.text = "push rbp", .hex = "55", .length = 1, .opsize = 8},
    {.text = "push r12", .hex = "41 54", .length = 2, .opsize = 8},
    {.text = "push ax", .hex = "66 50", .length = 2, .opsize = 2},
    {.text = "push imm32", .hex = "68 78 56 34 12", .length = 5, .opsize = 8, .imm_size = 4, .imm = 0x12345678},
    {.text = "push imm16", .hex = "66 68 34 12", .length = 4, .opsize = 2, .imm_size = 2, .imm = 0x1234},
    {.text = "push imm8", .hex = "6a ff", .length = 2, .imm_size = 1, .imm = 0xff},
    {.text = "pop qword [rax]", .hex = "8f 00", .length = 2},
    {.text = "XOP escape (8F /1) not claimed", .hex = "8f c8 00 00", .status = Status::unsupported},
    {.text = "jne rel8", .hex = "75 fe", .length = 2},
    {.text = "jne rel32", .hex = "0f 85 00 01 00 00", .length = 6, .opcode = 0x0f85, .imm_size = 4, .imm = 0x100},
    {.text = "call rel32", .hex = "e8 00 00 00 00", .length = 5},
    {.text = "66 call: vendor-specific length", .hex = "66 e8 00 00 00 00", .status = Status::unsupported},
    {.text = "66 REX.W call: rel32", .hex = "66 48 e8 00 00 00 00", .length = 7},
    {.text = "jmp rel8", .hex = "eb 00", .length = 2},
    {.text = "jecxz", .hex = "67 e3 fe", .length = 3, .addrsize = 4},
    {.text = "call [rip+0]", .hex = "ff 15 00 00 00 00", .length = 6, .base = kRip},
    {.text = "call far [rax]", .hex = "ff 18", .length = 2},
    {.text = "call far with register operand is #UD", .hex = "ff d8", .status = Status::invalid},
    {.text = "FF /7 is #UD", .hex = "ff f8", .status = Status::invalid},
    {.text = "FE /2 is #UD", .hex = "fe 10", .status = Status::invalid},
    {.text = "ret", .hex = "c3", .length = 1},
    {.text = "ret 8", .hex = "c2 08 00", .length = 3, .imm_size = 2, .imm = 8},
    {.text = "mov rax, imm64", .hex = "48 b8 88 77 66 55 44 33 22 11", .length = 10, .imm_size = 8, .imm = 0x1122334455667788ull},
    {.text = "mov eax, imm32", .hex = "b8 78 56 34 12", .length = 5, .imm_size = 4, .imm = 0x12345678},
    {.text = "mov ax, imm16", .hex = "66 b8 34 12", .length = 4, .imm_size = 2, .imm = 0x1234},
    {.text = "mov r8b, 1", .hex = "41 b0 01", .length = 3},
    {.text = "test al, 1 (F6 /0)", .hex = "f6 c0 01", .length = 3, .imm_size = 1, .imm = 1},
    {.text = "not eax (F7 /2: no immediate)", .hex = "f7 d0", .length = 2, .imm_size = 0},
    {.text = "test eax, imm32", .hex = "f7 c0 78 56 34 12", .length = 6, .imm_size = 4, .imm = 0x12345678},
    {.text = "test ax, imm16", .hex = "66 f7 c0 34 12", .length = 5, .imm_size = 2, .imm = 0x1234},
    {.text = "test rax, -1", .hex = "48 a9 ff ff ff ff", .length = 6, .imm_size = 4, .imm = 0xffffffff},
    {.text = "enter 0x10, 1", .hex = "c8 10 00 01", .length = 4, .imm_size = 2, .imm = 0x10, .imm2 = 1},
    {.text = "leave", .hex = "c9", .length = 1},
    {.text = "lea rax, [rip+0]", .hex = "48 8d 05 00 00 00 00", .length = 7, .base = kRip},
    {.text = "lea with register operand is #UD", .hex = "8d c0", .status = Status::invalid},
    {.text = "nop dword [rax+rax+0]", .hex = "0f 1f 44 00 00", .length = 5},
    {.text = "nop word [rax+rax+0] disp32", .hex = "66 0f 1f 84 00 00 00 00 00", .length = 9},
    {.text = "nop", .hex = "90", .length = 1},
    {.text = "pause", .hex = "f3 90", .length = 2},
    {.text = "imul eax, ecx, 0x10", .hex = "6b c1 10", .length = 3},
    {.text = "imul eax, ecx, imm32", .hex = "69 c1 00 01 00 00", .length = 6},
    {.text = "shl eax, 4", .hex = "c1 e0 04", .length = 3},
    {.text = "shl eax, cl", .hex = "d3 e0", .length = 2},
    {.text = "bt eax, 3", .hex = "0f ba e0 03", .length = 4},
    {.text = "0f ba /0 is #UD", .hex = "0f ba c0 03", .status = Status::invalid},
    {.text = "shld ecx, eax, 4", .hex = "0f a4 c1 04", .length = 4},
    {.text = "cmpxchg16b [rax]", .hex = "48 0f c7 08", .length = 4},
    {.text = "rdrand not claimed", .hex = "0f c7 f0", .status = Status::unsupported},
    {.text = "bswap eax", .hex = "0f c8", .length = 2},
    {.text = "setne al", .hex = "0f 95 c0", .length = 3},
    {.text = "cmovne eax, ecx", .hex = "0f 45 c1", .length = 3},
    {.text = "tzcnt eax, ecx", .hex = "f3 0f bc c1", .length = 4},
    {.text = "lss eax, [rax]", .hex = "0f b2 00", .length = 3},
    {.text = "lss with register operand is #UD", .hex = "0f b2 c0", .status = Status::invalid},
    {.text = "syscall", .hex = "0f 05", .length = 2},
    {.text = "ud2", .hex = "0f 0b", .length = 2},
    {.text = "movsxd rax, ecx", .hex = "48 63 c1", .length = 3},
    {.text = "int 0x80", .hex = "cd 80", .length = 2},
    {.text = "int3", .hex = "cc", .length = 1},
    {.text = "mov eax, ds", .hex = "8c d8", .length = 2},
    {.text = "mov ds, eax", .hex = "8e d8", .length = 2},
    {.text = "mov cs is #UD", .hex = "8e c8", .status = Status::invalid},
    // Invalid in 64-bit mode, or outside the claimed subset.
    {.text = "push es", .hex = "06", .status = Status::invalid},
    {.text = "daa", .hex = "27", .status = Status::invalid},
    {.text = "pusha", .hex = "60", .status = Status::invalid},
    {.text = "82 alias", .hex = "82 c0 01", .status = Status::invalid},
    {.text = "call far ptr", .hex = "9a 00 00 00 00 00 00", .status = Status::invalid},
    {.text = "into", .hex = "ce", .status = Status::invalid},
    {.text = "vzeroupper (VEX)", .hex = "c5 f8 77", .status = Status::unsupported},
    {.text = "EVEX", .hex = "62 f1 7c 48 10 00", .status = Status::unsupported},
    {.text = "x87", .hex = "d9 c0", .status = Status::unsupported},
    {.text = "0f 38 map", .hex = "0f 38 00 c0", .status = Status::unsupported},
    {.text = "0f 3a map", .hex = "66 0f 3a 0f c1 08", .status = Status::unsupported},
    {.text = "movups (SSE)", .hex = "0f 10 c0", .status = Status::unsupported},
    // Truncation and the 15-byte limit.
    {.text = "opcode only", .hex = "8b", .status = Status::truncated},
    {.text = "missing SIB", .hex = "8b 04", .status = Status::truncated},
    {.text = "prefix only", .hex = "48", .status = Status::truncated},
    {.text = "escape only", .hex = "0f", .status = Status::truncated},
    {.text = "short immediate", .hex = "c7 00 01 02 03", .status = Status::truncated},
    {.text = "short moffs", .hex = "a1 00 00 00 00", .status = Status::truncated},
    {.text = "15 bytes exactly", .hex = "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", .length = 15},
    {.text = "16 bytes", .hex = "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", .status = Status::too_long},
    {.text = "prefixes plus immediate over 15", .hex = "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e c7 00 44 33 22 11", .status = Status::too_long},
    {.text = "66 shrinks the immediate back under 15", .hex = "66 66 66 66 66 66 66 66 66 66 c7 00 44 33", .length = 14, .kind = Kind::mov_store_imm, .imm_size = 2, .imm = 0x3344},
    {.text = "15 bytes with imm32", .hex = "2e 2e 2e 2e 2e 2e 2e 48 c7 00 44 33 22 11", .length = 14, .kind = Kind::mov_store_imm, .imm_size = 4, .imm = 0x11223344},
};

inline constexpr size_t kNumCases = sizeof(kCases) / sizeof(kCases[0]);

// Parses "48 8b 05"; returns the byte count (at most `max`).
inline unsigned parse_hex(const char* s, uint8_t* out, size_t max) {
  unsigned n = 0;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  while (*s && n < max) {
    if (*s == ' ') {
      s++;
      continue;
    }
    const int hi = nibble(s[0]);
    const int lo = s[1] ? nibble(s[1]) : -1;
    if (hi < 0 || lo < 0) break;
    out[n++] = static_cast<uint8_t>(hi << 4 | lo);
    s += 2;
  }
  return n;
}

}  // namespace decode_cases

// Multiprocessing under EFI: every enabled CPU the MADT lists is brought
// up with INIT-SIPI-SIPI (Intel SDM vol.3 §9.4.4) through a real-mode
// trampoline below 1 MiB, and then waits, halted, for work.
//
// Contract:
//  - CPU 0 is the BSP and runs main(); CPUs 1.. are the APs in MADT order.
//  - Each AP has its own stack, TSS with IST stacks, per-CPU data (GS) and
//    local APIC in the system's mode; the GDT, IDT, exception handlers and
//    page tables are shared.
//  - on_cpu*/on_cpus run fn(arg) with interrupts disabled on the target;
//    fn may enable them. A call to the calling CPU runs inline. Only idle
//    CPUs service calls, so a call to CPU 0 from an AP is refused (CPU 0 is
//    busy running main) and aborts the test as an ERROR.
//  - An unexpected exception on any CPU is reported with that CPU's index
//    and ends the test as FAIL.
//  - A test may take an AP out of the framework and reset it (below); the
//    CPU keeps its index, APIC ID, stacks and TSS. While it is offline an
//    on_cpu* or on_cpus call to it is an ERROR; wait_idle returns at once.
#pragma once

#include <cstdint>

struct BootInfo;

namespace smp {

using Fn = void (*)(void*);

// Brings the APs up (boot::bring_up_platform, after APIC and timers).
void init(BootInfo& bi);

unsigned cpu_count();  // CPUs online, the BSP included
unsigned smp_id();     // the calling CPU's index
uint32_t apic_id_of(unsigned cpu);

void on_cpu(unsigned cpu, Fn fn, void* arg);        // returns after fn returned
void on_cpu_async(unsigned cpu, Fn fn, void* arg);  // returns once fn is posted
void on_cpus(Fn fn, void* arg);                     // every CPU, caller included
// Waits until `cpu` finished everything posted to it.
void wait_idle(unsigned cpu);

// Resetting one AP, for tests of INIT and SIPI (Intel SDM vol.3 §9.4.4,
// §11.6.1 "Interrupt Command Register"; AMD APM vol.2 §16.5). The caller
// keeps every other CPU from posting calls to `cpu` meanwhile. Every wait
// is bounded (docs/running.md, "Every wait loop").
//
// take_offline: waits until `cpu` is idle, sends it INIT and marks it
// offline; it then waits for a SIPI. false (and still online) when the
// INIT never left the local APIC.
bool take_offline(unsigned cpu);
// True while `cpu` is in the framework and takes calls.
bool online(unsigned cpu);
// Raw start-up IPIs to an offline CPU: false, with nothing sent, for CPU 0,
// an online CPU or an IPI that never left the local APIC.
bool send_init(unsigned cpu);
bool send_sipi(unsigned cpu, uint64_t page);  // page: 4 KiB aligned, below 1 MiB
// The page below 1 MiB that SIPI vectors may point at: the AP start-up
// trampoline's, 0 when there is none. While a CPU is offline a test may
// put its own real-mode code there; reset_cpu writes the trampoline back.
uint64_t start_page();
// INIT, then the framework's own start-up sequence (the same INIT-SIPI-SIPI
// and checks as at boot): `cpu` comes back with its stack, TSS, GS base and
// APIC set up again and takes on_cpu calls. Works on an online CPU (after
// waiting until it is idle) and on an offline one, whatever it runs. false
// when it did not check in within the start-up timeout: it is then parked
// with INIT again and stays offline.
bool reset_cpu(unsigned cpu);

// Lambdas without captures convert to Fn; this also takes a typed pointer.
template <typename T>
void on_cpu(unsigned cpu, void (*fn)(T*), T* arg) {
  on_cpu(cpu, reinterpret_cast<Fn>(fn), static_cast<void*>(arg));
}

}  // namespace smp

using smp::cpu_count;
using smp::on_cpu;
using smp::on_cpu_async;
using smp::on_cpus;
using smp::smp_id;

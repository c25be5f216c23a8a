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
#pragma once

#include <cstdint>

struct BootInfo;

namespace smp {

using Fn = void (*)(void*);

// Brings the APs up (platform_init, after APIC and timers).
void init(BootInfo& bi);

unsigned cpu_count();  // CPUs online, the BSP included
unsigned smp_id();     // the calling CPU's index
uint32_t apic_id_of(unsigned cpu);

void on_cpu(unsigned cpu, Fn fn, void* arg);        // returns after fn returned
void on_cpu_async(unsigned cpu, Fn fn, void* arg);  // returns once fn is posted
void on_cpus(Fn fn, void* arg);                     // every CPU, caller included
// Waits until `cpu` finished everything posted to it.
void wait_idle(unsigned cpu);

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

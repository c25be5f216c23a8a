// Host tests of the checking heap.
#include "mem/heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <vector>

using mem::Heap;
using mem::HeapConfig;
using mem::HeapFault;
using mem::HeapProblem;

namespace {

// Page source over host memory with a page budget, plus a problem log.
struct Harness {
  size_t budget_pages;
  std::vector<void*> blocks;
  std::vector<HeapProblem> problems;

  explicit Harness(size_t pages = 1024) : budget_pages(pages) {}
  ~Harness() {
    for (void* b : blocks) std::free(b);
  }

  HeapConfig config(bool report_exhaustion = false) {
    HeapConfig c;
    c.ctx = this;
    c.alloc_pages = [](void* ctx, size_t pages) -> void* {
      auto* h = static_cast<Harness*>(ctx);
      if (pages > h->budget_pages) return nullptr;
      h->budget_pages -= pages;
      void* p = std::aligned_alloc(4096, pages * 4096);
      h->blocks.push_back(p);
      return p;
    };
    c.report = [](void* ctx, const HeapProblem& p) {
      static_cast<Harness*>(ctx)->problems.push_back(p);
    };
    c.report_exhaustion = report_exhaustion;
    c.grow_pages = 4;
    return c;
  }

  bool only(HeapFault f) const {
    if (problems.empty()) return false;
    for (const HeapProblem& p : problems)
      if (p.fault != f) return false;
    return true;
  }
};

TEST(Heap, MallocFreeAndAlignment) {
  Harness h;
  Heap heap(h.config());
  std::vector<void*> ptrs;
  for (size_t size : {0, 1, 7, 15, 16, 17, 31, 100, 1000, 4095, 4096, 10000, 70000}) {
    void* p = heap.malloc(size);
    ASSERT_NE(p, nullptr) << size;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Heap::kAlign, 0u);
    std::memset(p, 0xab, size);
    EXPECT_EQ(heap.usable_size(p), size);
    ptrs.push_back(p);
  }
  EXPECT_EQ(heap.check(), 0u);
  for (void* p : ptrs) heap.free(p);
  heap.free(nullptr);
  EXPECT_EQ(heap.check(), 0u);
  EXPECT_TRUE(h.problems.empty());
  EXPECT_EQ(heap.stats().live_allocations, 0u);
  EXPECT_EQ(heap.stats().bytes_in_use, 0u);
}

TEST(Heap, AlignedAlloc) {
  Harness h;
  Heap heap(h.config());
  for (size_t align = 1; align <= 8192; align *= 2) {
    for (size_t size : {1, 24, 200}) {
      void* p = heap.aligned_alloc(align, size);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
      std::memset(p, 0x11, size);
      ASSERT_EQ(heap.check(), 0u);
      if (size != 24) heap.free(p);
    }
  }
  EXPECT_EQ(heap.aligned_alloc(24, 8), nullptr);
  EXPECT_TRUE(h.only(HeapFault::bad_alignment));
  EXPECT_EQ(heap.check(), 0u);
}

TEST(Heap, CallocZeroesAndChecksOverflow) {
  Harness h;
  Heap heap(h.config());
  auto* p = static_cast<unsigned char*>(heap.malloc(256));
  std::memset(p, 0xee, 256);
  heap.free(p);
  auto* q = static_cast<unsigned char*>(heap.calloc(16, 16));
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(q[i], 0);
  EXPECT_EQ(heap.calloc(SIZE_MAX / 2, 4), nullptr);
  heap.free(q);
  EXPECT_TRUE(h.problems.empty());
}

TEST(Heap, ReallocKeepsContents) {
  Harness h;
  Heap heap(h.config());
  auto* p = static_cast<unsigned char*>(heap.realloc(nullptr, 10));
  for (int i = 0; i < 10; ++i) p[i] = static_cast<unsigned char>(i);
  // Grow in place (next chunk is free), grow by moving, shrink.
  p = static_cast<unsigned char*>(heap.realloc(p, 100));
  void* blocker = heap.malloc(16);
  p = static_cast<unsigned char*>(heap.realloc(p, 5000));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(p[i], i);
  p = static_cast<unsigned char*>(heap.realloc(p, 3));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(p[i], i);
  EXPECT_EQ(heap.usable_size(p), 3u);
  EXPECT_EQ(heap.check(), 0u);
  EXPECT_EQ(heap.realloc(p, 0), nullptr);
  heap.free(blocker);
  EXPECT_EQ(heap.check(), 0u);
  EXPECT_TRUE(h.problems.empty());
  EXPECT_EQ(heap.stats().live_allocations, 0u);
}

TEST(Heap, DoubleFreeDetected) {
  Harness h;
  Heap heap(h.config());
  void* a = heap.malloc(64);
  void* b = heap.malloc(64);
  void* c = heap.malloc(64);
  heap.free(b);
  heap.free(b);
  ASSERT_EQ(h.problems.size(), 1u);
  EXPECT_EQ(h.problems[0].fault, HeapFault::double_free);
  EXPECT_EQ(h.problems[0].ptr, b);
  // After b has been merged into a's chunk its header is gone: still caught.
  heap.free(a);
  heap.free(b);
  ASSERT_EQ(h.problems.size(), 2u);
  EXPECT_EQ(h.problems[1].fault, HeapFault::double_free);
  heap.free(c);
  heap.free(c);
  EXPECT_TRUE(h.only(HeapFault::double_free));
  EXPECT_EQ(heap.check(), 0u);
}

TEST(Heap, OverrunDetectedOnFreeAndCheck) {
  Harness h;
  Heap heap(h.config());
  auto* p = static_cast<char*>(heap.malloc(20));
  void* neighbour = heap.malloc(20);
  p[20] = 'x';  // one byte past the request
  EXPECT_EQ(heap.check(), 1u);
  heap.free(p);
  EXPECT_TRUE(h.only(HeapFault::overrun));
  ASSERT_EQ(h.problems.size(), 2u);
  EXPECT_EQ(h.problems[1].ptr, p);
  EXPECT_EQ(h.problems[1].size, 20u);
  // The damaged chunk was not freed; restoring the byte makes it freeable.
  EXPECT_EQ(heap.stats().live_allocations, 2u);
  p[20] = static_cast<char>(0xfd);
  heap.free(p);
  heap.free(neighbour);
  EXPECT_EQ(heap.check(), 0u);
  EXPECT_EQ(h.problems.size(), 2u);
}

TEST(Heap, UnderrunSmashesHeader) {
  Harness h;
  Heap heap(h.config());
  auto* p = static_cast<char*>(heap.malloc(32));
  p[-8] = 0x42;  // inside the chunk header
  heap.free(p);
  EXPECT_TRUE(h.only(HeapFault::corrupt_header));
}

TEST(Heap, BadPointersRejected) {
  Harness h;
  Heap heap(h.config());
  auto* p = static_cast<char*>(heap.malloc(64));
  int on_stack = 0;
  heap.free(&on_stack);
  heap.free(p + 16);  // interior pointer
  heap.free(p + 1);
  EXPECT_TRUE(h.only(HeapFault::bad_pointer));
  EXPECT_EQ(h.problems.size(), 3u);
  heap.free(p);
  EXPECT_EQ(heap.check(), 0u);
}

TEST(Heap, WriteAfterFreeDetected) {
  Harness h;
  Heap heap(h.config());
  auto* p = static_cast<char*>(heap.malloc(200));
  void* keep = heap.malloc(16);
  heap.free(p);
  p[100] = 1;
  EXPECT_EQ(heap.check(), 1u);
  EXPECT_TRUE(h.only(HeapFault::use_after_free));
  (void)keep;
}

TEST(Heap, ExhaustionReturnsNull) {
  Harness h(8);
  Heap heap(h.config());
  EXPECT_EQ(heap.malloc(1 << 20), nullptr);
  EXPECT_TRUE(h.problems.empty());
  std::vector<void*> v;
  while (void* p = heap.malloc(1000)) v.push_back(p);
  EXPECT_GT(v.size(), 20u);
  EXPECT_TRUE(h.problems.empty());
  for (void* p : v) heap.free(p);
  EXPECT_EQ(heap.check(), 0u);

  Harness loud(0);
  Heap heap2(loud.config(true));
  EXPECT_EQ(heap2.malloc(123), nullptr);
  ASSERT_EQ(loud.problems.size(), 1u);
  EXPECT_EQ(loud.problems[0].fault, HeapFault::out_of_memory);
  EXPECT_EQ(loud.problems[0].size, 123u);
  EXPECT_STREQ(mem::heap_fault_str(HeapFault::out_of_memory), "heap exhausted");
}

TEST(Heap, FreeingEverythingCoalescesRegions) {
  Harness h;
  Heap heap(h.config());
  std::vector<void*> v;
  for (int i = 0; i < 200; ++i) v.push_back(heap.malloc(static_cast<size_t>(i % 50) * 8));
  // Free in an interleaved order to exercise merging in both directions.
  for (size_t i = 0; i < v.size(); i += 2) heap.free(v[i]);
  for (size_t i = 1; i < v.size(); i += 2) heap.free(v[i]);
  EXPECT_EQ(heap.check(), 0u);
  const mem::HeapStats s = heap.stats();
  // One free chunk per region: all but the region header and sentinel.
  const size_t regions = h.blocks.size();
  EXPECT_EQ(s.bytes_free, s.bytes_from_source - regions * (16 + 32));
  EXPECT_TRUE(h.problems.empty());
}

TEST(Heap, RandomOperationsMatchShadowModel) {
  Harness h(1 << 14);
  Heap heap(h.config());
  struct Block {
    size_t size;
    uint8_t seed;
  };
  std::map<uint8_t*, Block> live;
  std::mt19937_64 rng(99);
  auto fill = [](uint8_t* p, const Block& b) {
    for (size_t i = 0; i < b.size; ++i) p[i] = static_cast<uint8_t>(b.seed + i * 7);
  };
  auto verify = [](const uint8_t* p, const Block& b, size_t n) {
    for (size_t i = 0; i < n; ++i)
      if (p[i] != static_cast<uint8_t>(b.seed + i * 7)) return false;
    return true;
  };
  size_t in_use = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const unsigned op = rng() % 10;
    if (live.empty() || op < 4) {
      const size_t size = rng() % 4 == 0 ? rng() % 9000 : rng() % 200;
      const size_t align = size_t{1} << (rng() % 9);
      uint8_t* p = static_cast<uint8_t*>(op % 2 ? heap.aligned_alloc(align, size) : heap.malloc(size));
      ASSERT_NE(p, nullptr);
      if (op % 2) {
        ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
      }
      for (const auto& [q, b] : live) {
        ASSERT_TRUE(p + std::max<size_t>(size, 1) <= q || q + std::max<size_t>(b.size, 1) <= p)
            << "overlap";
      }
      Block b{size, static_cast<uint8_t>(rng())};
      fill(p, b);
      live[p] = b;
      in_use += size;
    } else if (op < 7) {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      ASSERT_TRUE(verify(it->first, it->second, it->second.size));
      in_use -= it->second.size;
      heap.free(it->first);
      live.erase(it);
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      const size_t size = 1 + rng() % 3000;
      Block b = it->second;
      auto* p = static_cast<uint8_t*>(heap.realloc(it->first, size));
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(verify(p, b, std::min(size, b.size)));
      in_use = in_use - b.size + size;
      live.erase(it);
      b.size = size;
      fill(p, b);
      live[p] = b;
    }
    ASSERT_TRUE(h.problems.empty()) << "iter " << iter;
    ASSERT_EQ(heap.stats().bytes_in_use, in_use);
    ASSERT_EQ(heap.stats().live_allocations, live.size());
    if (iter % 500 == 0) {
      ASSERT_EQ(heap.check(), 0u) << "iter " << iter;
    }
  }
  for (const auto& [p, b] : live) heap.free(p);
  EXPECT_EQ(heap.check(), 0u);
  EXPECT_EQ(heap.stats().bytes_in_use, 0u);
  EXPECT_TRUE(h.problems.empty());
}

}  // namespace

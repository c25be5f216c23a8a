#include "efi/exit_boot.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using efi::BootServices;
using efi::MemoryDescriptor;
using efi::Status;

// A firmware stand-in. Its map has `descriptors` entries of OVMF's 48-byte
// stride; ExitBootServices succeeds only with the current key, and the first
// `stale_exits` calls invalidate the key (as a timer event allocating during
// a partial shutdown would) and grow the map by `growth` descriptors.
struct Firmware {
  uint64_t desc_size = 48;
  uint64_t descriptors = 10;
  uint64_t key = 100;
  int stale_exits = 0;
  uint64_t growth = 1;
  bool exit_always_fails = false;
  Status exit_error = efi::kSuccess;
  bool exited = false;

  std::vector<std::string> calls;
  std::vector<void*> map_buffers;
  std::vector<void*> pool;
  efi::MemoryType last_pool_type = efi::MemoryType::reserved;
  uint64_t last_pool_size = 0;
};

Firmware* fw;

EFIAPI Status fake_get_memory_map(uint64_t* size, MemoryDescriptor* map, uint64_t* key,
                                  uint64_t* desc_size, uint32_t* version) {
  fw->calls.push_back("GetMemoryMap");
  fw->map_buffers.push_back(map);
  const uint64_t needed = fw->descriptors * fw->desc_size;
  *desc_size = fw->desc_size;
  *version = 1;
  if (*size < needed) {
    *size = needed;
    return efi::kBufferTooSmall;
  }
  auto* bytes = reinterpret_cast<unsigned char*>(map);
  for (uint64_t i = 0; i < fw->descriptors; ++i) {
    MemoryDescriptor d{};
    d.type = efi::MemoryType::conventional;
    d.physical_start = i * 0x100000;
    d.number_of_pages = 16;
    std::memcpy(bytes + i * fw->desc_size, &d, sizeof d);
  }
  *size = needed;
  *key = fw->key;
  return efi::kSuccess;
}

EFIAPI Status fake_exit_boot_services(efi::Handle image, uint64_t key) {
  fw->calls.push_back("ExitBootServices");
  EXPECT_EQ(image, reinterpret_cast<efi::Handle>(0x1234));
  if (fw->exit_always_fails) return efi::kInvalidParameter;
  if (fw->exit_error != efi::kSuccess) return fw->exit_error;
  if (key != fw->key) return efi::kInvalidParameter;
  if (fw->stale_exits > 0) {
    --fw->stale_exits;
    ++fw->key;
    fw->descriptors += fw->growth;
    return efi::kInvalidParameter;
  }
  fw->exited = true;
  return efi::kSuccess;
}

EFIAPI Status fake_allocate_pool(efi::MemoryType type, uint64_t size, void** out) {
  fw->calls.push_back("AllocatePool");
  fw->last_pool_type = type;
  fw->last_pool_size = size;
  *out = std::malloc(size);
  fw->pool.push_back(*out);
  return efi::kSuccess;
}

EFIAPI Status fake_free_pool(void* p) {
  fw->calls.push_back("FreePool");
  for (auto& q : fw->pool) {
    if (q == p) {
      std::free(p);
      q = nullptr;
      return efi::kSuccess;
    }
  }
  ADD_FAILURE() << "FreePool of a pointer never allocated";
  return efi::kInvalidParameter;
}

EFIAPI Status fake_allocate_pages(efi::AllocateType, efi::MemoryType, uint64_t,
                                  efi::PhysicalAddress*) {
  fw->calls.push_back("AllocatePages");
  return efi::kOutOfResources;
}

EFIAPI Status fake_free_pages(efi::PhysicalAddress, uint64_t) {
  fw->calls.push_back("FreePages");
  return efi::kSuccess;
}

class ExitBoot : public ::testing::Test {
 protected:
  void SetUp() override {
    fw = &firmware;
    std::memset(&bs, 0, sizeof bs);
    bs.get_memory_map = fake_get_memory_map;
    bs.exit_boot_services = fake_exit_boot_services;
    bs.allocate_pool = fake_allocate_pool;
    bs.free_pool = fake_free_pool;
    bs.allocate_pages = fake_allocate_pages;
    bs.free_pages = fake_free_pages;
  }
  void TearDown() override {
    for (void* p : firmware.pool) std::free(p);
    fw = nullptr;
  }

  // Calls made from the first GetMemoryMap issued by exit_boot_services()
  // onwards.
  std::vector<std::string> calls_since(size_t first) const {
    return {firmware.calls.begin() + static_cast<ptrdiff_t>(first), firmware.calls.end()};
  }

  Firmware firmware;
  BootServices bs;
  efi::Handle image = reinterpret_cast<efi::Handle>(0x1234);
};

using Calls = std::vector<std::string>;

TEST_F(ExitBoot, AllocatesLoaderDataWithSlack) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  EXPECT_EQ(firmware.calls, (Calls{"GetMemoryMap", "AllocatePool"}));
  EXPECT_EQ(firmware.last_pool_type, efi::MemoryType::loader_data);
  EXPECT_EQ(mb.capacity, (10 + efi::kMapSlackDescriptors) * 48);
  EXPECT_EQ(firmware.last_pool_size, mb.capacity);
  EXPECT_EQ(mb.desc_size, 48u);
  ASSERT_NE(mb.buf, nullptr);
  EXPECT_EQ(static_cast<void*>(mb.buf), firmware.pool.back());
}

TEST_F(ExitBoot, ReallocationFreesThePreviousBuffer) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  void* first = mb.buf;
  firmware.descriptors = 100;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  EXPECT_EQ(firmware.pool.front(), nullptr) << first << " was not freed";
  EXPECT_EQ(mb.capacity, (100 + efi::kMapSlackDescriptors) * 48);
}

TEST_F(ExitBoot, FirstTrySucceeds) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  const size_t first = firmware.calls.size();
  EXPECT_EQ(efi::exit_boot_services(&bs, image, mb), efi::kSuccess);
  EXPECT_TRUE(firmware.exited);
  EXPECT_EQ(calls_since(first), (Calls{"GetMemoryMap", "ExitBootServices"}));
  EXPECT_EQ(mb.size, 10u * 48);
  EXPECT_EQ(mb.map_key, 100u);
  EXPECT_EQ(mb.desc_version, 1u);
}

TEST_F(ExitBoot, StaleKeyRetriesIntoTheSameBufferWithoutAllocating) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  firmware.stale_exits = 1;
  const size_t first = firmware.calls.size();
  const size_t first_map = firmware.map_buffers.size();

  EXPECT_EQ(efi::exit_boot_services(&bs, image, mb), efi::kSuccess);

  EXPECT_TRUE(firmware.exited);
  EXPECT_EQ(calls_since(first),
            (Calls{"GetMemoryMap", "ExitBootServices", "GetMemoryMap", "ExitBootServices"}));
  for (size_t i = first_map; i < firmware.map_buffers.size(); ++i)
    EXPECT_EQ(firmware.map_buffers[i], static_cast<void*>(mb.buf));
  // The final map is the one the successful call was made with.
  EXPECT_EQ(mb.map_key, 101u);
  EXPECT_EQ(mb.size, 11u * 48);
  MemoryDescriptor last;
  std::memcpy(&last, reinterpret_cast<unsigned char*>(mb.buf) + 10 * 48, sizeof last);
  EXPECT_EQ(last.physical_start, 10u * 0x100000);
}

TEST_F(ExitBoot, AlwaysStaleGivesUpAfterMaxTries) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  firmware.exit_always_fails = true;
  const size_t first = firmware.calls.size();

  EXPECT_EQ(efi::exit_boot_services(&bs, image, mb, 5), efi::kInvalidParameter);

  Calls expected;
  for (int i = 0; i < 5; ++i) {
    expected.push_back("GetMemoryMap");
    expected.push_back("ExitBootServices");
  }
  EXPECT_EQ(calls_since(first), expected);
  EXPECT_FALSE(firmware.exited);
}

TEST_F(ExitBoot, DefaultTryBoundIsEight) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  firmware.exit_always_fails = true;
  const size_t first = firmware.calls.size();
  EXPECT_EQ(efi::exit_boot_services(&bs, image, mb), efi::kInvalidParameter);
  EXPECT_EQ(calls_since(first).size(), 16u);
}

TEST_F(ExitBoot, NonPositiveMaxTriesStillTriesOnce) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  const size_t first = firmware.calls.size();
  EXPECT_EQ(efi::exit_boot_services(&bs, image, mb, 0), efi::kSuccess);
  EXPECT_EQ(calls_since(first), (Calls{"GetMemoryMap", "ExitBootServices"}));
}

TEST_F(ExitBoot, MapOutgrowingTheSlackFailsInsteadOfAllocating) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  firmware.stale_exits = 1;
  firmware.growth = efi::kMapSlackDescriptors + 1;
  const size_t first = firmware.calls.size();

  EXPECT_EQ(efi::exit_boot_services(&bs, image, mb), efi::kBufferTooSmall);

  EXPECT_EQ(calls_since(first), (Calls{"GetMemoryMap", "ExitBootServices", "GetMemoryMap"}));
  EXPECT_FALSE(firmware.exited);
}

TEST_F(ExitBoot, OtherExitErrorsAreNotRetried) {
  efi::MapBuffer mb;
  ASSERT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kSuccess);
  firmware.exit_error = efi::kDeviceError;
  const size_t first = firmware.calls.size();
  EXPECT_EQ(efi::exit_boot_services(&bs, image, mb), efi::kDeviceError);
  EXPECT_EQ(calls_since(first), (Calls{"GetMemoryMap", "ExitBootServices"}));
}

TEST_F(ExitBoot, NoBufferIsRefusedWithoutCallingFirmware) {
  efi::MapBuffer mb;
  EXPECT_EQ(efi::exit_boot_services(&bs, image, mb), efi::kBufferTooSmall);
  EXPECT_TRUE(firmware.calls.empty());
}

TEST_F(ExitBoot, AllocationFailureIsReported) {
  bs.allocate_pool = [](efi::MemoryType, uint64_t, void**) EFIAPI -> Status {
    return efi::kOutOfResources;
  };
  efi::MapBuffer mb;
  EXPECT_EQ(efi::allocate_map_buffer(&bs, mb), efi::kOutOfResources);
  EXPECT_EQ(mb.buf, nullptr);
  EXPECT_EQ(mb.capacity, 0u);
}

}  // namespace

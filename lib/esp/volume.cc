#include "esp/volume.h"

namespace esp {

namespace {
constexpr size_t kMaxPath = 260;
}  // namespace

bool to_ucs2(Str s, char16_t* out, size_t capacity) {
  if (s.n + 1 > capacity) return false;
  for (size_t i = 0; i < s.n; ++i) {
    unsigned char c = static_cast<unsigned char>(s.p[i]);
    out[i] = c < 0x80 ? c : u'?';
  }
  out[s.n] = 0;
  return true;
}

efi::Status Volume::open(efi::BootServices* bs, efi::Handle device) {
  bs_ = bs;
  uefi::SimpleFileSystem* fs = nullptr;
  efi::Status s = bs->handle_protocol(device, &uefi::kSimpleFileSystemProtocolGuid,
                                      reinterpret_cast<void**>(&fs));
  if (efi::is_error(s)) return s;
  return fs->open_volume(fs, &root_);
}

efi::Status Volume::open_file(const char* path, uint64_t mode, uint64_t attr, uefi::File** out) {
  char16_t name[kMaxPath];
  if (!root_) return efi::kNotReady;
  if (!to_ucs2(Str::of(path), name, kMaxPath)) return efi::kInvalidParameter;
  return root_->open(root_, out, name, mode, attr);
}

efi::Status Volume::read(const char* path, char** data, size_t* size) {
  *data = nullptr;
  *size = 0;
  uefi::File* f = nullptr;
  efi::Status s = open_file(path, uefi::kFileModeRead, 0, &f);
  if (efi::is_error(s)) return s;
  // Learn the size from EFI_FILE_INFO (UEFI 2.10 §13.5.12); the name that
  // follows the fixed part makes the structure variable-sized.
  alignas(8) uint8_t info_buf[sizeof(uefi::FileInfo) + 2 * kMaxPath];
  uint64_t info_size = sizeof(info_buf);
  s = f->get_info(f, &uefi::kFileInfoGuid, &info_size, info_buf);
  if (!efi::is_error(s)) {
    uint64_t n = reinterpret_cast<uefi::FileInfo*>(info_buf)->file_size;
    void* buf = nullptr;
    s = bs_->allocate_pool(efi::MemoryType::loader_data, n + 1, &buf);
    if (!efi::is_error(s)) {
      uint64_t got = n;
      s = f->read(f, &got, buf);
      if (efi::is_error(s) || got != n) {
        bs_->free_pool(buf);
        if (!efi::is_error(s)) s = efi::kDeviceError;
      } else {
        static_cast<char*>(buf)[n] = 0;
        *data = static_cast<char*>(buf);
        *size = n;
      }
    }
  }
  f->close(f);
  return s;
}

efi::Status Volume::remove(const char* path) {
  uefi::File* f = nullptr;
  efi::Status s = open_file(path, uefi::kFileModeRead | uefi::kFileModeWrite, 0, &f);
  if (s == efi::kNotFound) return efi::kSuccess;
  if (efi::is_error(s)) return s;
  // Delete() closes the handle whatever it returns (§13.5.5); a warning
  // means the file stayed.
  s = f->remove(f);
  return s == efi::kSuccess ? s : efi::kDeviceError;
}

efi::Status Volume::write(const char* path, Str data) {
  // Removing first is the portable truncation: SetInfo() with a smaller
  // FileSize is optional for a driver to support.
  efi::Status s = remove(path);
  if (efi::is_error(s)) return s;
  return append(path, data);
}

efi::Status Volume::append(const char* path, Str data) {
  uefi::File* f = nullptr;
  efi::Status s = open_file(
      path, uefi::kFileModeRead | uefi::kFileModeWrite | uefi::kFileModeCreate, 0, &f);
  if (efi::is_error(s)) return s;
  s = f->set_position(f, uefi::kPositionEnd);
  if (!efi::is_error(s)) {
    uint64_t n = data.n;
    s = f->write(f, &n, data.p);
    if (!efi::is_error(s) && n != data.n) s = efi::kDeviceError;
  }
  efi::Status fs = f->flush(f);
  if (!efi::is_error(s) && efi::is_error(fs)) s = fs;
  f->close(f);
  return s;
}

}  // namespace esp

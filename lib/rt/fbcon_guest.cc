// Framebuffer console, guest part: one console over the GOP framebuffer that
// boot phase 3 recorded in BootInfo (the contract is in fbcon.h).
#include "boot/bootinfo.h"
#include "rt/console.h"
#include "rt/fbcon.h"

namespace {

// 200 columns by 80 rows; a larger screen gets a larger scale instead.
constexpr size_t kMaxCells = 200 * 80;
constinit fbcon::Cell cells[kMaxCells] = {};
constinit fbcon::Console console;
constinit bool attached = false;

void framebuffer_write(const char* s, size_t n) { console.write(s, n); }

bool pixel_format(const boot::Framebuffer& fb, fbcon::PixelFormat* out) {
  switch (fb.layout) {
    case boot::PixelLayout::rgbx8: *out = fbcon::PixelFormat::rgbx(); return true;
    case boot::PixelLayout::bgrx8: *out = fbcon::PixelFormat::bgrx(); return true;
    case boot::PixelLayout::bitmask:
      return fbcon::PixelFormat::from_masks(fb.mask.red, fb.mask.green, fb.mask.blue,
                                            fb.mask.reserved, out);
  }
  return false;
}

}  // namespace

bool console_init_framebuffer(const boot::Framebuffer& fb) {
  fbcon::PixelFormat format;
  if (attached || !fb.present || !fb.base.value || !pixel_format(fb, &format)) return false;
  const uint64_t stride = uint64_t{fb.pixels_per_scan_line} * format.bytes_per_pixel();
  if (stride == 0 || stride > UINT32_MAX) return false;
  // Draw only the scan lines inside FrameBufferSize should a firmware report
  // a mode larger than its buffer.
  uint64_t height = fb.height;
  if (fb.size && stride * height > fb.size) height = fb.size / stride;
  const fbcon::Surface surface{reinterpret_cast<uint8_t*>(fb.base.value), fb.width,
                               static_cast<uint32_t>(height), static_cast<uint32_t>(stride),
                               format};
  if (!console.init(surface, cells, kMaxCells) || !console_add_output(framebuffer_write))
    return false;
  attached = true;
  return true;
}

const fbcon::Console* framebuffer_console() { return attached ? &console : nullptr; }

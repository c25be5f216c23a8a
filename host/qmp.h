// A QMP client (QEMU Machine Protocol, docs/interop/qmp-spec in QEMU):
// JSON objects, one per line. The server greets with {"QMP": ...}; after
// qmp_capabilities, each command {"execute": ..., "id": N} gets exactly one
// reply {"return": ...} or {"error": {"class", "desc"}} carrying the same
// id, and asynchronous events {"event": ...} may come in between, which
// are kept aside. Replies are matched by id, never by their place in the
// stream or by substrings.
//
// The transport is a pair of file descriptors (a UNIX socket twice, or the
// two FIFOs of a QEMU "pipe" chardev); every read is bounded by the
// caller's deadline, and a live-check callback ends the wait early when
// the QEMU on the other side has exited.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace qmp {

using Json = nlohmann::json;

struct Reply {
  bool ok = false;   // a "return" with our id arrived
  Json value;        // its "return", or the whole error object
  std::string error; // why not ok: the error's class and desc, or what broke
};

class Client {
 public:
  // in_fd: where the client reads the server's output; out_fd: where it
  // writes commands. Not owned.
  Client(int in_fd, int out_fd) : in_(in_fd), out_(out_fd) {}

  // Between polls, alive() is asked whether the peer still runs; false
  // ends the wait with "QEMU exited before it answered".
  void set_alive(std::function<bool()> alive) { alive_ = std::move(alive); }

  // Waits for the greeting (at most timeout_s).
  bool greeting(double timeout_s, std::string* error);

  // Sends {"execute": name, "arguments": args, "id": n} and waits for the
  // reply with that id. Events that arrive meanwhile go to events().
  Reply execute(const std::string& name, const Json& args, double timeout_s);
  // The same for a command given as JSON text; its own "id" is replaced.
  Reply execute_json(const std::string& command, double timeout_s);

  const std::vector<Json>& events() const { return events_; }

 private:
  bool read_message(double deadline, Json* out, std::string* error);
  bool write_line(const std::string& line, std::string* error);

  int in_, out_;
  std::function<bool()> alive_;
  std::string buf_;  // bytes read but not yet a whole line
  std::vector<Json> events_;
  unsigned next_id_ = 1;
};

}  // namespace qmp

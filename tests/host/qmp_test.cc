// The QMP client (host/qmp.h) against a fake QMP server on a socket pair:
// the greeting, replies matched by id with events in between, an error
// reply, a reply for another id, a closed socket, a silent server and a
// peer that is gone.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "../../host/qmp.h"

namespace {

struct Pair {
  int client = -1, server = -1;
  Pair() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
      client = fds[0];
      server = fds[1];
    }
  }
  ~Pair() {
    if (client >= 0) close(client);
    if (server >= 0) close(server);
  }
  void say(const std::string& s) const { ASSERT_EQ(write(server, s.data(), s.size()), static_cast<ssize_t>(s.size())); }
  std::string hear_line() const {
    std::string line;
    char c;
    while (read(server, &c, 1) == 1 && c != '\n') line.push_back(c);
    return line;
  }
};

constexpr char kGreeting[] = "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": []}}\r\n";

TEST(Qmp, GreetingThenRepliesByIdWithEventsBetween) {
  Pair p;
  ASSERT_GE(p.client, 0);
  std::thread server([&] {
    p.say(kGreeting);
    nlohmann::json c = nlohmann::json::parse(p.hear_line());
    EXPECT_EQ(c["execute"], "qmp_capabilities");
    // An event, a reply to some other id, then ours, in two writes.
    p.say("{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1}}\n{\"return\": {}, \"id\": 999}\n{\"ret");
    p.say("urn\": {}, \"id\": " + c["id"].dump() + "}\n");
    c = nlohmann::json::parse(p.hear_line());
    EXPECT_EQ(c["execute"], "query-migrate");
    p.say("{\"return\": {\"status\": \"completed\"}, \"id\": " + c["id"].dump() + "}\n");
  });
  qmp::Client cl(p.client, p.client);
  std::string err;
  ASSERT_TRUE(cl.greeting(5, &err)) << err;
  qmp::Reply r = cl.execute("qmp_capabilities", nullptr, 5);
  EXPECT_TRUE(r.ok) << r.error;
  r = cl.execute_json("{\"execute\":\"query-migrate\",\"id\":\"theirs\"}", 5);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.value["status"], "completed");
  ASSERT_EQ(cl.events().size(), 1u);
  EXPECT_EQ(cl.events()[0]["event"], "RESUME");
  server.join();
}

TEST(Qmp, ErrorReplyIsAnErrorWithItsClassAndDescription) {
  Pair p;
  std::thread server([&] {
    p.say(kGreeting);
    nlohmann::json c = nlohmann::json::parse(p.hear_line());
    p.say("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such capability\"}, \"id\": " + c["id"].dump() +
          "}\n");
  });
  qmp::Client cl(p.client, p.client);
  std::string err;
  ASSERT_TRUE(cl.greeting(5, &err));
  qmp::Reply r = cl.execute("migrate-set-capabilities", {{"capabilities", nlohmann::json::array()}}, 5);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "GenericError: no such capability");
  server.join();
}

TEST(Qmp, ClosedSocketSilenceAndADeadPeer) {
  {
    Pair p;
    p.say(kGreeting);
    close(p.server);
    p.server = -1;
    qmp::Client cl(p.client, p.client);
    std::string err;
    ASSERT_TRUE(cl.greeting(5, &err));
    qmp::Reply r = cl.execute("quit", nullptr, 5);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.error == "QMP closed the connection" || r.error == "cannot write to QMP") << r.error;
  }
  {
    Pair p;
    qmp::Client cl(p.client, p.client);
    std::string err;
    EXPECT_FALSE(cl.greeting(0.2, &err));
    EXPECT_EQ(err, "no answer from QMP in time");
  }
  {
    Pair p;
    qmp::Client cl(p.client, p.client);
    cl.set_alive([] { return false; });
    std::string err;
    EXPECT_FALSE(cl.greeting(5, &err));
    EXPECT_EQ(err, "QEMU exited before it answered");
  }
  {
    Pair p;
    p.say("not json\n");
    qmp::Client cl(p.client, p.client);
    std::string err;
    EXPECT_FALSE(cl.greeting(5, &err));
    EXPECT_EQ(err.rfind("QMP sent something that is not a JSON object", 0), 0u) << err;
  }
}

TEST(Qmp, RefusesWhatIsNotACommand) {
  Pair p;
  qmp::Client cl(p.client, p.client);
  EXPECT_FALSE(cl.execute_json("{\"exec\": 1}", 1).ok);
  EXPECT_FALSE(cl.execute_json("[1,2]", 1).ok);
}

}  // namespace

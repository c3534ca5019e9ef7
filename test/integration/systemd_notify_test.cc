// Type=notify: systemd learns from apibouncer when it is ready, reloading and stopping
// (sd_notify datagrams on $NOTIFY_SOCKET), as the unit in etc/apibouncer.service expects.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "fixture.h"

using namespace itest;

namespace {

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  NotifySocket() {
    char dir_template[] = "/tmp/apibouncer-notify-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    dir_ = dir_template;
    path_ = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

  // The next datagram, or "" after `timeout_ms`.
  std::string next(int timeout_ms = 10000) {
    pollfd waiting{fd_, POLLIN, 0};
    if (::poll(&waiting, 1, timeout_ms) != 1) return "";
    char buffer[512];
    ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

bool starts(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("systemd: READY once listening, RELOADING then READY on SIGHUP, STOPPING on SIGTERM",
          "[systemd]") {
  NotifySocket systemd;
  // The child inherits the variable; unset again so no other test's process sees it.
  setenv("NOTIFY_SOCKET", systemd.path().c_str(), 1);
  auto pooler = std::make_unique<PoolerProcess>();
  unsetenv("NOTIFY_SOCKET");

  std::string ready = systemd.next();
  INFO(ready << "\n" << pooler->log());
  CHECK(starts(ready, "READY=1"));
  Conn conn = connectOk(*pooler);  // it really listens by then

  pooler->signal(SIGHUP);
  std::string reloading = systemd.next();
  CHECK(starts(reloading, "RELOADING=1"));
  CHECK(reloading.find("MONOTONIC_USEC=") != std::string::npos);
  CHECK(starts(systemd.next(), "READY=1"));

  pooler->signal(SIGTERM);
  CHECK(starts(systemd.next(), "STOPPING=1"));
}

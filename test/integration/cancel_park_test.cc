// A link whose client gave it back while that client's cancel request is still on its way must
// not serve anyone else until the cancel has landed (it would cancel the next client's query),
// and cancel_wait_timeout bounds that wait. A TCP proxy between the pooler and PostgreSQL holds
// cancel requests back to keep one in flight.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "fixture.h"

using namespace itest;

namespace {

using Clock = std::chrono::steady_clock;

int connectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Forwards every connection to PostgreSQL; a connection that opens with a CancelRequest is
// held for `cancel_delay` before its bytes go on.
class DelayingProxy {
 public:
  DelayingProxy(int target_port, std::chrono::milliseconds cancel_delay)
      : target_(target_port), delay_(cancel_delay) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 64) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~DelayingProxy() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    acceptor_.join();
    for (auto& pump : pumps_) pump.join();
  }
  int port() const { return port_; }
  int cancelsSeen() const { return cancels_; }

 private:
  void acceptLoop() {
    while (!stop_) {
      int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      pumps_.emplace_back([this, client] { pump(client); });
    }
  }
  void pump(int client) {
    // The first 8 bytes: length and code; 80877102 is a CancelRequest.
    unsigned char head[8];
    size_t have = 0;
    while (have < sizeof head) {
      ssize_t n = ::recv(client, head + have, sizeof head - have, 0);
      if (n <= 0) {
        ::close(client);
        return;
      }
      have += static_cast<size_t>(n);
    }
    uint32_t code =
        (uint32_t{head[4]} << 24) | (uint32_t{head[5]} << 16) | (uint32_t{head[6]} << 8) | head[7];
    if (code == 80877102) {
      cancels_++;
      std::this_thread::sleep_for(delay_);
    }
    int server = connectTo(target_);
    if (server < 0 || ::send(server, head, sizeof head, MSG_NOSIGNAL) != 8) {
      ::close(client);
      if (server >= 0) ::close(server);
      return;
    }
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    char buffer[16384];
    while (!stop_) {
      if (::poll(fds, 2, 100) < 0) break;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
        done = n <= 0 || ::send(fds[1 - i].fd, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n;
      }
      if (done) break;
    }
    ::close(client);
    ::close(server);
  }

  int target_;
  std::chrono::milliseconds delay_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> cancels_{0};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  // joined at the end (only the acceptor adds to it)
};

// A leaves a link whose cancel is still in flight: its query finished before the cancel got
// through. Returns once A's link went back to the pool (A's client disconnected).
void leaveWithCancelInFlight(const PoolerProcess& pooler) {
  Conn a = connectOk(pooler);
  REQUIRE(PQsendQuery(a.get(), "SELECT pg_sleep(0.3)") == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  PGcancel* cancel = PQgetCancel(a.get());
  char errbuf[256];
  REQUIRE(PQcancel(cancel, errbuf, sizeof errbuf) == 1);  // the pooler took it
  PQfreeCancel(cancel);
  Result r(PQgetResult(a.get()), &PQclear);
  while (PGresult* rest = PQgetResult(a.get())) PQclear(rest);
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);  // finished before the cancel landed
}

// B, on the same one-link pool, runs a query long enough to be hit by the late cancel if it
// were given A's link; returns its result and how long it took.
std::pair<Result, Clock::duration> runB(const PoolerProcess& pooler) {
  Conn b = connectOk(pooler);
  auto start = Clock::now();
  Result r = exec(b.get(), "SELECT pg_sleep(3), 'b finished'");
  return {std::move(r), Clock::now() - start};
}

}  // namespace

TEST_CASE("a link with a cancel in flight serves nobody until the cancel has landed",
          "[transaction][cancel]") {
  DelayingProxy proxy(Sandbox::get().port, std::chrono::milliseconds(2500));
  PoolerProcess pooler({"app = host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                            " dbname=app pool_size=1 pool_mode=transaction\n",
                        "cancel_wait_timeout = 0\n", "", true});
  leaveWithCancelInFlight(pooler);
  auto [r, took] = runB(pooler);
  INFO(pooler.log());
  CHECK(proxy.cancelsSeen() == 1);
  // Had B got the link at once, the cancel landing at 2.5 s would have canceled it (57014).
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(r.get(), 0, 1)) == "b finished");
  CHECK(took >= std::chrono::milliseconds(4000));  // it waited for the cancel to land
}

TEST_CASE("cancel_wait_timeout closes a link whose cancel does not land in time",
          "[transaction][cancel]") {
  DelayingProxy proxy(Sandbox::get().port, std::chrono::milliseconds(8000));
  PoolerProcess pooler({"app = host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                            " dbname=app pool_size=1 pool_mode=transaction\n",
                        "cancel_wait_timeout = 1\n", "", true});
  leaveWithCancelInFlight(pooler);
  auto [r, took] = runB(pooler);
  INFO(pooler.log());
  // B got a new link once the parked one was closed (after ~1 s), not after the cancel (8 s),
  // and the late cancel finds that old backend gone.
  REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(r.get(), 0, 1)) == "b finished");
  CHECK(took < std::chrono::milliseconds(7000));
  CHECK(took >= std::chrono::milliseconds(3000 + 500));  // waited for the timeout, then ran
}

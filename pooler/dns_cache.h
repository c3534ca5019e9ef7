// Host names of [databases] entries, resolved with libuv's getaddrinfo and kept dns_max_ttl
// seconds (a failed lookup dns_nxdomain_ttl seconds), as PgBouncer's getaddrinfo backend
// does: a burst of new server links costs one lookup, not one each. SHOW DNS_HOSTS lists it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace apibouncer {

class DnsCache {
 public:
  // `status` is 0 or a libuv error (UV_EAI_NONAME ...); `addrs` has at least one address
  // when it is 0. Ports in `addrs` are 0: the caller sets its own.
  using Done = std::function<void(int status, const std::vector<sockaddr_storage>& addrs)>;
  using Ticket = uint64_t;

  explicit DnsCache(uv_loop_t* loop) : loop_(loop) {}
  ~DnsCache();
  DnsCache(const DnsCache&) = delete;
  DnsCache& operator=(const DnsCache&) = delete;

  // Answers at once from the cache (or when getaddrinfo cannot even start) and returns 0, or
  // starts or joins a lookup, answers when it ends and returns a ticket for cancel(). TTLs in
  // seconds; 0 keeps nothing.
  Ticket resolve(const std::string& host, double max_ttl, double nxdomain_ttl, Done done);
  // The requester is going away: its `done` will not be called.
  void cancel(Ticket ticket);

  struct Host {
    std::string name;
    uint64_t ttl_left_s;             // until the entry is looked up again
    std::vector<std::string> addrs;  // IP addresses as text; empty after a failed lookup
  };
  std::vector<Host> hosts() const;  // fresh entries only, by name

 private:
  struct Lookup;
  struct Entry {
    int status = 0;
    std::vector<sockaddr_storage> addrs;
    uint64_t expires_ms = 0;
  };
  struct Waiter {
    Ticket ticket;
    Done done;
  };
  // A name being looked up: who waits, and the TTLs of the latest request.
  struct InFlight {
    Lookup* lookup = nullptr;  // null only while uv_getaddrinfo is being started
    std::vector<Waiter> waiters;
    double max_ttl = 0, nxdomain_ttl = 0;
  };
  static void resolvedCb(uv_getaddrinfo_t* req, int status, addrinfo* res);
  void finish(const std::string& host, int status, const addrinfo* res);

  uv_loop_t* loop_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::map<std::string, InFlight, std::less<>> in_flight_;
  Ticket next_ticket_ = 1;
};

}  // namespace apibouncer

// DnsCache on a real loop: "localhost" comes from /etc/hosts, ".invalid" never resolves
// (RFC 6761), so no test depends on the network.
#include "pooler/dns_cache.h"

#include <uv.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using apibouncer::DnsCache;

namespace {

struct Answer {
  int status = 1;  // not yet answered
  std::vector<sockaddr_storage> addrs;
  int calls = 0;
};

DnsCache::Done recordInto(Answer& answer) {
  return [&answer](int status, const std::vector<sockaddr_storage>& addrs) {
    answer.status = status;
    answer.addrs = addrs;
    ++answer.calls;
  };
}

struct Loop {
  uv_loop_t loop;
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
};

}  // namespace

TEST_CASE("a resolved name is answered from the cache until dns_max_ttl", "[dns]") {
  Loop loop;
  DnsCache cache(&loop.loop);
  Answer first, second, joined;
  DnsCache::Ticket ticket = cache.resolve("localhost", 0.3, 15, recordInto(first));
  CHECK(ticket != 0);
  // A second request while the lookup runs joins it.
  CHECK(cache.resolve("localhost", 0.3, 15, recordInto(joined)) != 0);
  CHECK(first.calls == 0);
  loop.run();
  REQUIRE(first.calls == 1);
  CHECK(joined.calls == 1);
  CHECK(first.status == 0);
  REQUIRE_FALSE(first.addrs.empty());

  // Fresh: answered inside the call.
  CHECK(cache.resolve("localhost", 0.3, 15, recordInto(second)) == 0);
  CHECK(second.calls == 1);
  CHECK(second.addrs.size() == first.addrs.size());
  auto hosts = cache.hosts();
  REQUIRE(hosts.size() == 1);
  CHECK(hosts[0].name == "localhost");
  CHECK(hosts[0].ttl_left_s == 1);  // 0.3 s left, rounded up
  CHECK_FALSE(hosts[0].addrs.empty());

  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  uv_update_time(&loop.loop);
  CHECK(cache.hosts().empty());
  Answer again;
  CHECK(cache.resolve("localhost", 0.3, 15, recordInto(again)) != 0);  // looked up anew
  loop.run();
  CHECK(again.calls == 1);
}

TEST_CASE("a failed lookup is kept dns_nxdomain_ttl, and not at all with 0", "[dns]") {
  Loop loop;
  DnsCache cache(&loop.loop);
  Answer failed, cached;
  CHECK(cache.resolve("no-such-host.invalid", 15, 10, recordInto(failed)) != 0);
  loop.run();
  REQUIRE(failed.calls == 1);
  CHECK(failed.status != 0);
  CHECK(failed.addrs.empty());
  CHECK(cache.resolve("no-such-host.invalid", 15, 10, recordInto(cached)) == 0);
  CHECK(cached.status == failed.status);
  REQUIRE(cache.hosts().size() == 1);
  CHECK(cache.hosts()[0].addrs.empty());

  DnsCache uncached(&loop.loop);
  Answer once, twice;
  uncached.resolve("no-such-host.invalid", 15, 0, recordInto(once));
  loop.run();
  CHECK(once.calls == 1);
  CHECK(uncached.resolve("no-such-host.invalid", 15, 0, recordInto(twice)) != 0);
  loop.run();
  CHECK(twice.calls == 1);
}

TEST_CASE("a cancelled request is never answered; the others still are", "[dns]") {
  Loop loop;
  DnsCache cache(&loop.loop);
  Answer gone, kept;
  DnsCache::Ticket ticket = cache.resolve("localhost", 15, 15, recordInto(gone));
  cache.resolve("localhost", 15, 15, recordInto(kept));
  cache.cancel(ticket);
  loop.run();
  CHECK(gone.calls == 0);
  CHECK(kept.calls == 1);
}

TEST_CASE("a cache destroyed with a lookup in flight frees it safely", "[dns]") {
  Loop loop;
  Answer never;
  {
    DnsCache cache(&loop.loop);
    cache.resolve("localhost", 15, 15, recordInto(never));
  }
  loop.run();  // the getaddrinfo callback runs (or is cancelled) with the cache gone
  CHECK(never.calls == 0);
}

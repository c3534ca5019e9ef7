// The IP/port helpers shared by peer names, SHOW SOCKETS, the DNS cache and dialing.
#include "pooler/socket_address.h"

#include <uv.h>

#include <catch2/catch.hpp>

using namespace apibouncer;

TEST_CASE("IPv4 and IPv6 addresses print, report and change their port", "[socket_address]") {
  sockaddr_storage v4{};
  REQUIRE(uv_ip4_addr("10.1.2.3", 5432, reinterpret_cast<sockaddr_in*>(&v4)) == 0);
  CHECK(ipText(v4) == "10.1.2.3");
  CHECK(portOf(v4) == 5432);
  sockaddr_storage moved = withPort(v4, 6432);
  CHECK(portOf(moved) == 6432);
  CHECK(ipText(moved) == "10.1.2.3");
  CHECK(portOf(v4) == 5432);  // the original is a copy's source, untouched

  sockaddr_storage v6{};
  REQUIRE(uv_ip6_addr("::1", 7000, reinterpret_cast<sockaddr_in6*>(&v6)) == 0);
  CHECK(ipText(v6) == "::1");
  CHECK(portOf(withPort(v6, 7001)) == 7001);

  sockaddr_storage other{};
  other.ss_family = AF_UNIX;
  CHECK(ipText(other).empty());
  CHECK(portOf(other) == 0);
  CHECK(portOf(withPort(other, 1)) == 0);
}

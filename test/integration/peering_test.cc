// Peering: two apibouncer processes of one group (peer_id, [peers]). A client's cancel request
// that reaches the process which does not know it is forwarded to the one that does.
#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "fixture.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using namespace itest;
namespace wire = apibouncer::wire;

namespace {

constexpr const char* kAdmin = "\"admin\" \"admin-secret\"\n";

uint32_t bigEndian32(const std::string& bytes, size_t at) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + at, 4);
  return ntohl(value);
}

// Logs in as app (trust) on a raw socket; returns the BackendKeyData the pooler handed out.
std::pair<uint32_t, uint32_t> rawLogin(RawClient& client) {
  REQUIRE(client.sendBytes(
      wire::startupMessage(wire::kProtocolV3, {{"user", "app"}, {"database", "app"}})));
  std::pair<uint32_t, uint32_t> key{0, 0};
  char type = 0;
  std::string body;
  while (client.readMessage(type, body) && type != 'Z') {
    REQUIRE(type != 'E');
    if (type == 'K') key = {bigEndian32(body, 0), bigEndian32(body, 4)};
  }
  REQUIRE(type == 'Z');
  return key;
}

// The SQLSTATE of the ErrorResponse that ends the running query ("" if none came in time).
std::string queryError(RawClient& client, int timeout_ms) {
  char type = 0;
  std::string body;
  while (client.readMessage(type, body, timeout_ms)) {
    if (type != 'E') continue;
    for (size_t at = 0; at < body.size() && body[at] != '\0';) {
      size_t end = body.find('\0', at + 1);
      if (body[at] == 'C') return body.substr(at + 1, end - at - 1);
      at = end + 1;
    }
  }
  return "";
}

}  // namespace

TEST_CASE("peering: a cancel sent to the wrong process reaches the client's query", "[peering]") {
  PoolerProcess first(configWith("peer_id = 1\nauth_type = trust\n"));
  std::string peers = "\n[peers]\n1 = host=" + first.dir() +
                      " port=" + std::to_string(first.port()) + "\n2 = host=127.0.0.1 port=1\n";
  PoolerProcess second(configWith("peer_id = 2\nauth_type = trust\nadmin_users = admin\n" + peers,
                                  defaultUserlist() + kAdmin));

  RawClient client(first.port());
  auto [pid, key] = rawLogin(client);
  CHECK((pid >> 18) == 1);  // the top 14 bits of the key name the process that made it
  REQUIRE(client.sendBytes(wire::query("SELECT pg_sleep(30)")));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  auto started = std::chrono::steady_clock::now();
  RawClient canceller(second.port());
  REQUIRE(canceller.sendBytes(wire::cancelRequest(pid, key)));
  INFO(first.log() << second.log());
  CHECK(queryError(client, 10000) == "57014");  // query_canceled
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));

  Conn console = connect(second.conninfo("admin", "admin-secret", "pgbouncer"));
  REQUIRE(PQstatus(console.get()) == CONNECTION_OK);
  Result peers_rows = exec(console.get(), "SHOW PEERS");
  REQUIRE(PQntuples(peers_rows.get()) == 2);
  CHECK(std::string(PQgetvalue(peers_rows.get(), 0, 0)) == "1");
  CHECK(std::string(PQgetvalue(peers_rows.get(), 0, 1)) == first.dir());
  CHECK(std::string(PQgetvalue(peers_rows.get(), 0, 2)) == std::to_string(first.port()));
  Result pools = exec(console.get(), "SHOW PEER_POOLS");
  CHECK(PQntuples(pools.get()) == 2);
  CHECK(PQnfields(pools.get()) == 5);
}

TEST_CASE("peering: keys of unknown peers and of this process's own unknown clients are dropped",
          "[peering]") {
  PoolerProcess lone(configWith("peer_id = 7\nauth_type = trust\n"));
  RawClient client(lone.port());
  auto [pid, key] = rawLogin(client);
  CHECK((pid >> 18) == 7);
  REQUIRE(client.sendBytes(wire::query("SELECT pg_sleep(1.5)")));
  // Peer 9 is not in [peers]; a key of this process that it never handed out is ignored too.
  RawClient unknown_peer(lone.port());
  REQUIRE(unknown_peer.sendBytes(wire::cancelRequest((9u << 18) | (3u << 16), key)));
  RawClient unknown_key(lone.port());
  REQUIRE(unknown_key.sendBytes(wire::cancelRequest(pid, key ^ 1u)));
  CHECK(unknown_peer.closedByPeer());
  CHECK(unknown_key.closedByPeer());
  char type = 0;
  std::string body;
  bool completed = false;
  while (client.readMessage(type, body, 5000) && type != 'Z')
    if (type == 'C') completed = true;
  CHECK(completed);  // the query ran to its end
  CHECK(lone.alive());
}

// The wire protocol edge: SSLRequest, protocol 3.2 negotiation, malformed startup packets.
#include <catch2/catch.hpp>

#include "fixture.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"

using namespace itest;
namespace wire = apibouncer::wire;

namespace {

std::string trustSettings() {
  return "auth_type = trust\n";
}

void expectServes(const PoolerProcess& pooler) {
  Conn conn = connect(pooler.conninfo());
  INFO(PQerrorMessage(conn.get()));
  REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
  CHECK(PQresultStatus(exec(conn.get(), "SELECT 1").get()) == PGRES_TUPLES_OK);
}

}  // namespace

TEST_CASE("SSLRequest is answered N and the startup continues in plain text", "[protocol]") {
  PoolerProcess pooler({"", trustSettings(), "", true});
  RawClient client(pooler.port());
  client.sendBytes(wire::sslRequest());
  std::string answer;
  REQUIRE(client.readRaw(1, answer));
  CHECK(answer == "N");
  client.sendBytes(wire::startupMessage(wire::kProtocolV3, {{"user", "app"}, {"database", "app"}}));
  char type = 0;
  std::string body;
  bool ready = false;
  while (client.readMessage(type, body))
    if (type == 'Z') {
      ready = true;
      break;
    }
  CHECK(ready);
  // libpq with sslmode=prefer takes the same path.
  Conn conn = connect(pooler.conninfo() + " sslmode=prefer");
  CHECK(PQstatus(conn.get()) == CONNECTION_OK);
}

TEST_CASE("GSSENCRequest then SSLRequest are answered once each; a repeat is refused",
          "[protocol]") {
  PoolerProcess pooler({"", trustSettings(), "", true});
  // libpq's order with gssencmode=prefer: GSS first, then TLS, then the startup packet.
  RawClient client(pooler.port());
  std::string gss_request = wire::sslRequest();
  gss_request[7] = static_cast<char>(wire::kGssEncRequestCode & 0xff);  // 80877104
  client.sendBytes(gss_request);
  std::string answer;
  REQUIRE(client.readRaw(1, answer));
  CHECK(answer == "N");
  client.sendBytes(wire::sslRequest());
  REQUIRE(client.readRaw(1, answer));
  CHECK(answer == "N");
  // A client that keeps asking would otherwise be answered for as long as it asks.
  client.sendBytes(wire::sslRequest());
  char type = 0;
  std::string body;
  REQUIRE(client.readMessage(type, body));
  CHECK(type == 'E');
  CHECK(contains(body, "encryption was already negotiated"));
  CHECK(client.closedByPeer());
  RawClient again(pooler.port());
  again.sendBytes(gss_request);
  REQUIRE(again.readRaw(1, answer));
  again.sendBytes(gss_request);
  REQUIRE(again.readMessage(type, body));
  CHECK(type == 'E');
  expectServes(pooler);
}

TEST_CASE("a client asking for protocol 3.2 gets NegotiateProtocolVersion and works",
          "[protocol]") {
  PoolerProcess pooler({"", trustSettings(), "", true});
  RawClient client(pooler.port());
  client.sendBytes(wire::startupMessage(
      (3u << 16) | 2, {{"user", "app"}, {"database", "app"}, {"_pq_.something", "on"}}));
  char type = 0;
  std::string body;
  REQUIRE(client.readMessage(type, body));
  REQUIRE(type == 'v');
  REQUIRE(body.size() >= 8);
  auto* p = reinterpret_cast<const uint8_t*>(body.data());
  CHECK(wire::readU32(p) == (3u << 16));  // newest supported: 3.0
  CHECK(wire::readU32(p + 4) == 1);       // one unsupported option
  CHECK(body.substr(8) == std::string("_pq_.something\0", 15));
  REQUIRE(client.readMessage(type, body));
  CHECK(type == 'R');
  bool ready = false;
  while (client.readMessage(type, body))
    if (type == 'Z') {
      ready = true;
      break;
    }
  REQUIRE(ready);
  client.sendBytes(wire::query("SELECT 7"));
  std::string seen;
  while (client.readMessage(type, body)) {
    seen += type;
    if (type == 'Z') break;
  }
  CHECK(seen == "TDCZ");
}

TEST_CASE("malformed startup packets are refused and the pooler keeps serving", "[protocol]") {
  PoolerProcess pooler({"", trustSettings(), "", true});
  const std::string garbage[] = {
      std::string("\x00\x00\x00\x08\x11\x22\x33\x44", 8),           // unknown protocol
      std::string("\x7f\xff\xff\xff\x00\x03\x00\x00", 8),           // absurd length
      std::string("\x00\x00\x00\x02", 4),                           // length below minimum
      std::string("\x00\x00\x00\x0d\x00\x03\x00\x00user\x00", 13),  // no terminator
      std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
  };
  for (const std::string& bytes : garbage) {
    RawClient client(pooler.port());
    client.sendBytes(bytes);
    char type = 0;
    std::string body;
    if (client.readMessage(type, body, 3000)) CHECK(type == 'E');
    CHECK(client.closedByPeer());
    REQUIRE(pooler.alive());
  }
  expectServes(pooler);
}

TEST_CASE("an unknown database and an unknown startup parameter are refused", "[protocol]") {
  PoolerProcess pooler({"", trustSettings(), "", true});
  Conn no_db = connect(pooler.conninfo("app", "", "nosuchdb"));
  CHECK(PQstatus(no_db.get()) == CONNECTION_BAD);
  CHECK(std::string(PQerrorMessage(no_db.get())).find("no such database") != std::string::npos);
  Conn bad_param = connect(pooler.conninfo() + " options='-c work_mem=1MB'");
  CHECK(PQstatus(bad_param.get()) == CONNECTION_BAD);
  CHECK(std::string(PQerrorMessage(bad_param.get())).find("unsupported startup parameter") !=
        std::string::npos);
  expectServes(pooler);
}

TEST_CASE("ignore_startup_parameters lets listed parameters through", "[protocol]") {
  PoolerProcess pooler({"", "auth_type = trust\nignore_startup_parameters = options\n", "", true});
  Conn conn = connect(pooler.conninfo() + " options='-c work_mem=1MB'");
  INFO(PQerrorMessage(conn.get()));
  CHECK(PQstatus(conn.get()) == CONNECTION_OK);
}

TEST_CASE("startup parameters reach the server link", "[protocol]") {
  PoolerProcess pooler({"", trustSettings(), "", true});
  Conn conn2 = connect(pooler.conninfo() + " application_name=itest-app");
  INFO(PQerrorMessage(conn2.get()));
  REQUIRE(PQstatus(conn2.get()) == CONNECTION_OK);
  Result r = exec(conn2.get(), "SHOW application_name");
  CHECK(std::string(PQgetvalue(r.get(), 0, 0)) == "itest-app");
  CHECK(std::string(PQparameterStatus(conn2.get(), "application_name")) == "itest-app");
}

TEST_CASE("listen_addr = * accepts IPv4 clients", "[protocol]") {
  PoolerProcess pooler({"", "listen_addr = *\nauth_type = trust\n", "", true});
  expectServes(pooler);
  CHECK(pooler.logContains("listening on 0.0.0.0:"));
}

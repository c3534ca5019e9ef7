// Startup-phase packets: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest, garbage.
#include <catch2/catch.hpp>

#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"
#include "test_bytes.h"

using namespace apibouncer::wire;

TEST_CASE("a v3.0 startup packet decodes its parameters", "[wire][startup]") {
  std::string bytes = startupMessage(
      kProtocolV3, {{"user", "alice"}, {"database", "shop"}, {"application_name", "psql"}});
  StartupPacket packet;
  std::string error;
  REQUIRE(decodeStartup(asBytes(bytes), packet, error) == DecodeStatus::kOk);
  CHECK(packet.kind == StartupPacket::Kind::kStartup);
  CHECK(packet.majorVersion() == 3);
  CHECK(packet.minorVersion() == 0);
  CHECK(packet.param("user") == "alice");
  CHECK(packet.param("database") == "shop");
  CHECK(packet.param("application_name") == "psql");
  CHECK(packet.param("missing").empty());
  CHECK(packet.consumed == bytes.size());
}

TEST_CASE("protocol 3.2 and _pq_ options are kept for negotiation", "[wire][startup]") {
  std::string bytes = startupMessage((3u << 16) | 2, {{"user", "u"}, {"_pq_.compression", "on"}});
  StartupPacket packet;
  std::string error;
  REQUIRE(decodeStartup(asBytes(bytes), packet, error) == DecodeStatus::kOk);
  CHECK(packet.minorVersion() == 2);
  CHECK(packet.protocol_options == std::vector<std::string>{"_pq_.compression"});
  CHECK(packet.params.size() == 1);
}

TEST_CASE("SSLRequest, GSSENCRequest and CancelRequest", "[wire][startup]") {
  StartupPacket packet;
  std::string error;
  REQUIRE(decodeStartup(asBytes(sslRequest()), packet, error) == DecodeStatus::kOk);
  CHECK(packet.kind == StartupPacket::Kind::kSslRequest);
  std::string gss = be32(8) + be32(kGssEncRequestCode);
  REQUIRE(decodeStartup(asBytes(gss), packet, error) == DecodeStatus::kOk);
  CHECK(packet.kind == StartupPacket::Kind::kGssEncRequest);
  REQUIRE(decodeStartup(asBytes(cancelRequest(1234, 0xdeadbeef)), packet, error) ==
          DecodeStatus::kOk);
  CHECK(packet.kind == StartupPacket::Kind::kCancelRequest);
  CHECK(packet.cancel_pid == 1234);
  CHECK(packet.cancel_key == 0xdeadbeef);
}

TEST_CASE("every truncation of a startup packet needs more bytes", "[wire][startup]") {
  std::string bytes = startupMessage(kProtocolV3, {{"user", "alice"}, {"database", "db"}});
  for (size_t n = 0; n < bytes.size(); ++n) {
    StartupPacket packet;
    std::string error;
    CHECK(decodeStartup(asBytes(bytes.substr(0, n)), packet, error) == DecodeStatus::kNeedMore);
  }
}

TEST_CASE("bad startup packets are refused with a reason", "[wire][startup]") {
  struct Case {
    std::string bytes;
    DecodeStatus expected;
    std::string reason_part;
  };
  const Case cases[] = {
      {be32(4) + be32(0), DecodeStatus::kMalformed, "invalid length"},
      {be32(100000) + be32(kProtocolV3), DecodeStatus::kTooLarge, "invalid length"},
      {be32(8) + be32(2 << 16), DecodeStatus::kMalformed, "unsupported frontend protocol 2.0"},
      {be32(12) + be32(kProtocolV3) + "user", DecodeStatus::kMalformed, "terminator"},
      {be32(19) + be32(kProtocolV3) + z("user") + "bob" + '\0' + '\0' + 'x',
       DecodeStatus::kMalformed, "after terminator"},
      {be32(9) + be32(kProtocolV3) + '\0', DecodeStatus::kMalformed, "no PostgreSQL user"},
      {be32(12) + be32(kCancelRequestCode) + be32(1), DecodeStatus::kMalformed, "cancel"},
      {be32(12) + be32(kSslRequestCode) + be32(1), DecodeStatus::kMalformed, "encryption"},
  };
  for (const Case& c : cases) {
    StartupPacket packet;
    std::string error;
    CHECK(decodeStartup(asBytes(c.bytes), packet, error) == c.expected);
    CHECK_THAT(error, Catch::Contains(c.reason_part));
  }
}

TEST_CASE("random garbage never crashes the startup decoder", "[wire][startup]") {
  uint32_t seed = 12345;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    size_t len = (seed >> 7) % 64;
    for (size_t i = 0; i < len; ++i) {
      seed = seed * 1103515245 + 12345;
      bytes += static_cast<char>(seed >> 16);
    }
    if (bytes.size() >= 4 && round % 2 == 0) bytes.replace(0, 4, be32(static_cast<uint32_t>(len)));
    StartupPacket packet;
    std::string error;
    DecodeStatus status = decodeStartup(asBytes(bytes), packet, error);
    if (status == DecodeStatus::kOk) CHECK(packet.consumed <= bytes.size());
  }
}

// Typed message framing and the frontend/backend body decoders.
#include <catch2/catch.hpp>

#include <deque>

#include "pooler/wire/backend.h"
#include "pooler/wire/frontend.h"
#include "pooler/wire/packet.h"
#include "pooler/wire/writer.h"
#include "test_bytes.h"

using namespace apibouncer::wire;

namespace {

// Decodes a message the writer built; the bytes are kept alive because views point into them.
Message decodeWhole(const std::string& built) {
  static std::deque<std::string> keep;
  const std::string& bytes = keep.emplace_back(built);
  Message m;
  REQUIRE(nextMessage(asBytes(bytes), 1 << 30, m) == DecodeStatus::kOk);
  REQUIRE(m.header.totalSize() == bytes.size());
  return m;
}

}  // namespace

TEST_CASE("framing: need more, too large, malformed length", "[wire][framing]") {
  std::string q = query("SELECT 1");
  for (size_t n = 0; n < q.size(); ++n) {
    Message m;
    CHECK(nextMessage(asBytes(q.substr(0, n)), 1 << 20, m) == DecodeStatus::kNeedMore);
  }
  Message m;
  CHECK(nextMessage(asBytes(q), 8, m) == DecodeStatus::kTooLarge);
  CHECK(nextMessage(asBytes(std::string("Q") + be32(3)), 1 << 20, m) == DecodeStatus::kMalformed);
  MessageHeader h;
  CHECK(peekHeader(asBytes(q), 1 << 20, h) == DecodeStatus::kOk);
  CHECK(h.type == 'Q');
  CHECK(h.bodySize() == 9);
}

TEST_CASE("Query, Parse, Bind, Describe, Close, Execute decode", "[wire][frontend]") {
  QueryMsg q;
  REQUIRE(decodeQuery(decodeWhole(query("SELECT 1")).body, q));
  CHECK(q.sql == "SELECT 1");

  std::string parse_body = z("s1") + z("SELECT $1") + be16(1) + be32(23);
  ParseMsg p;
  REQUIRE(decodeParse(asBytes(parse_body), p));
  CHECK(p.statement == "s1");
  CHECK(p.query == "SELECT $1");
  CHECK(p.param_type_oids == std::vector<uint32_t>{23});

  std::string bind_body = z("portal") + z("s1") + be16(1) + be16(0) + be16(2) + be32(2) + "42" +
                          be32(0xffffffff) + be16(1) + be16(1);
  BindMsg b;
  REQUIRE(decodeBind(asBytes(bind_body), b));
  CHECK(b.portal == "portal");
  CHECK(b.statement == "s1");
  REQUIRE(b.param_values.size() == 2);
  CHECK(b.param_values[0] == std::optional<std::string_view>("42"));
  CHECK_FALSE(b.param_values[1].has_value());
  CHECK(b.result_formats == std::vector<int16_t>{1});

  DescribeMsg d;
  std::string describe_body = std::string("P") + z("portal");
  REQUIRE(decodeDescribe(asBytes(describe_body), d));
  CHECK(d.kind == 'P');
  CHECK(d.name == "portal");
  CloseMsg c;
  std::string close_body = std::string("S") + z("s1");
  REQUIRE(decodeClose(asBytes(close_body), c));
  CHECK(c.name == "s1");
  CHECK_FALSE(decodeClose(asBytes(std::string("X") + z("s1")), c));
  ExecuteMsg e;
  REQUIRE(decodeExecute(asBytes(z("portal") + be32(10)), e));
  CHECK(e.max_rows == 10);
}

TEST_CASE("every truncation of a frontend body is rejected", "[wire][frontend]") {
  std::string bind_body =
      z("p") + z("s") + be16(1) + be16(0) + be16(1) + be32(3) + "abc" + be16(1) + be16(0);
  for (size_t n = 0; n < bind_body.size(); ++n) {
    BindMsg b;
    CHECK_FALSE(decodeBind(asBytes(bind_body.substr(0, n)), b));
  }
  std::string parse_body = z("s") + z("q") + be16(2) + be32(23) + be32(25);
  for (size_t n = 0; n < parse_body.size(); ++n) {
    ParseMsg p;
    CHECK_FALSE(decodeParse(asBytes(parse_body.substr(0, n)), p));
  }
}

TEST_CASE("garbage frontend bodies are rejected", "[wire][frontend]") {
  BindMsg b;
  CHECK_FALSE(decodeBind(asBytes(z("p") + z("s") + be16(0xffff)), b));  // negative count
  CHECK_FALSE(decodeBind(asBytes(z("p") + z("s") + be16(1) + be16(7) + be16(0) + be16(0)), b));
  CHECK_FALSE(decodeBind(asBytes(z("p") + z("s") + be16(0) + be16(1) + be32(100) + "x"), b));
  QueryMsg q;
  CHECK_FALSE(decodeQuery(asBytes(std::string("no terminator")), q));
  CHECK_FALSE(decodeQuery(asBytes(z("a") + "trailing"), q));
  ExecuteMsg e;
  CHECK_FALSE(decodeExecute(asBytes(z("p") + be16(1)), e));
}

TEST_CASE("validateFrontendMessage checks each type", "[wire][frontend]") {
  CHECK(validateFrontendMessage(decodeWhole(query("SELECT 1"))));
  CHECK(validateFrontendMessage(decodeWhole(msg('S', ""))));
  CHECK_FALSE(validateFrontendMessage(decodeWhole(msg('S', "x"))));
  CHECK(validateFrontendMessage(decodeWhole(msg('d', "any bytes"))));
  CHECK(validateFrontendMessage(decodeWhole(msg('f', z("copy failed")))));
  CHECK(validateFrontendMessage(
      decodeWhole(msg('F', be32(42) + be16(0) + be16(1) + be32(1) + "x" + be16(0)))));
  CHECK_FALSE(validateFrontendMessage(decodeWhole(msg('F', be32(42)))));
  CHECK_FALSE(validateFrontendMessage(decodeWhole(msg('?', ""))));
  CHECK(isFrontendType('Q'));
  CHECK_FALSE(isFrontendType('Z'));
}

TEST_CASE("password and SASL messages decode", "[wire][frontend]") {
  PasswordMsg pw;
  REQUIRE(decodePassword(decodeWhole(passwordMessage("secret")).body, pw));
  CHECK(pw.password == "secret");
  SaslInitialResponseMsg init;
  REQUIRE(decodeSaslInitialResponse(
      decodeWhole(saslInitialResponse("SCRAM-SHA-256", "n,,n=,r=abc")).body, init));
  CHECK(init.mechanism == "SCRAM-SHA-256");
  CHECK(init.data == std::optional<std::string_view>("n,,n=,r=abc"));
  REQUIRE(decodeSaslInitialResponse(asBytes(z("M") + be32(0xffffffff)), init));
  CHECK_FALSE(init.data.has_value());
  CHECK_FALSE(decodeSaslInitialResponse(asBytes(z("M") + be32(10) + "short"), init));
  SaslResponseMsg resp;
  REQUIRE(decodeSaslResponse(decodeWhole(saslResponse("c=biws")).body, resp));
  CHECK(resp.data == "c=biws");
}

TEST_CASE("backend messages round-trip through the writer", "[wire][backend]") {
  AuthenticationMsg auth;
  uint8_t salt[4] = {1, 2, 3, 4};
  REQUIRE(decodeAuthentication(decodeWhole(authenticationMd5(salt)).body, auth));
  CHECK(auth.code == authcode::kMd5);
  CHECK(std::vector<uint8_t>(auth.payload.begin(), auth.payload.end()) ==
        std::vector<uint8_t>{1, 2, 3, 4});
  REQUIRE(decodeAuthentication(decodeWhole(authenticationSasl({"SCRAM-SHA-256"})).body, auth));
  CHECK(auth.sasl_mechanisms == std::vector<std::string_view>{"SCRAM-SHA-256"});
  REQUIRE(decodeAuthentication(decodeWhole(authenticationOk()).body, auth));
  CHECK(auth.code == authcode::kOk);

  ParameterStatusMsg ps;
  REQUIRE(decodeParameterStatus(decodeWhole(parameterStatus("TimeZone", "UTC")).body, ps));
  CHECK(ps.name == "TimeZone");
  CHECK(ps.value == "UTC");
  BackendKeyDataMsg key;
  REQUIRE(decodeBackendKeyData(decodeWhole(backendKeyData(7, 0xfffffffe)).body, key));
  CHECK(key.pid == 7);
  CHECK(key.key == 0xfffffffe);
  ReadyForQueryMsg rfq;
  REQUIRE(decodeReadyForQuery(decodeWhole(readyForQuery('T')).body, rfq));
  CHECK(rfq.status == 'T');
  CHECK_FALSE(decodeReadyForQuery(asBytes(std::string("Q")), rfq));

  ErrorFieldsMsg err;
  REQUIRE(decodeErrorFields(
      decodeWhole(errorResponse({"ERROR", "22012", "division by zero", "d", "h"})).body, err));
  CHECK(err.field('C') == "22012");
  CHECK(err.field('M') == "division by zero");
  CHECK(err.field('D') == "d");
  CHECK(err.field('H') == "h");
  CHECK(err.field('P').empty());
  CHECK_FALSE(decodeErrorFields(asBytes(std::string("Cabc")), err));
}

TEST_CASE("ErrorResponse and NegotiateProtocolVersion bytes are exact", "[wire][writer]") {
  std::string expected = std::string("E") + be32(4 + 7 + 7 + 7 + 4 + 1) + "SFATAL" + '\0' +
                         "VFATAL" + '\0' + "C28P01" + '\0' + "Mno" + '\0' + '\0';
  CHECK(errorResponse({"FATAL", "28P01", "no"}) == expected);
  std::string npv =
      std::string("v") + be32(4 + 4 + 4 + 10) + be32(kProtocolV3) + be32(1) + z("_pq_.opt1");
  CHECK(negotiateProtocolVersion(0, {"_pq_.opt1"}) == npv);
  CHECK(readyForQuery('I') == std::string("Z") + be32(5) + "I");
  CHECK(cancelRequest(1, 2) == be32(16) + be32(kCancelRequestCode) + be32(1) + be32(2));
}

TEST_CASE("a login's welcome is appended to what the buffer already holds", "[wire][writer]") {
  std::string out = authenticationOk();
  appendParameterStatus(out, "TimeZone", "UTC");
  appendParameterStatus(out, "application_name", "");
  appendBackendKeyData(out, 7, 0xfffffffe);
  appendReadyForQuery(out, 'I');
  CHECK(out == authenticationOk() + parameterStatus("TimeZone", "UTC") + std::string("S") +
                   be32(4 + 17 + 1) + z("application_name") + '\0' + std::string("K") + be32(12) +
                   be32(7) + be32(0xfffffffe) + readyForQuery('I'));
}

TEST_CASE("row messages for the console", "[wire][writer]") {
  Message t = decodeWhole(rowDescription({"a", "bb"}));
  CHECK(t.header.type == 'T');
  CHECK(t.body.size() == 2 + (2 + 18) + (3 + 18));
  Message d = decodeWhole(dataRow({"x", ""}));
  CHECK(std::string(d.body.begin(), d.body.end()) == be16(2) + be32(1) + "x" + be32(0));
  CHECK(commandComplete("SHOW") == std::string("C") + be32(9) + z("SHOW"));
}

TEST_CASE("the extended-protocol builders decode back to what they were given",
          "[wire][frontend]") {
  Message m = decodeWhole(apibouncer::wire::parse("s1", "SELECT 1"));
  ParseMsg parse_msg;
  REQUIRE(decodeParse(m.body, parse_msg));
  CHECK(parse_msg.statement == "s1");
  CHECK(parse_msg.query == "SELECT 1");
  CHECK(parse_msg.param_type_oids.empty());
  m = decodeWhole(apibouncer::wire::bind("p", "s1"));
  BindMsg bind_msg;
  REQUIRE(decodeBind(m.body, bind_msg));
  CHECK(bind_msg.portal == "p");
  CHECK(bind_msg.statement == "s1");
  CHECK(bind_msg.param_values.empty());
  m = decodeWhole(apibouncer::wire::execute("p"));
  ExecuteMsg execute_msg;
  REQUIRE(decodeExecute(m.body, execute_msg));
  CHECK(execute_msg.portal == "p");
  CHECK(execute_msg.max_rows == 0);
  m = decodeWhole(apibouncer::wire::describe('S', "s1"));
  DescribeMsg describe_msg;
  REQUIRE(decodeDescribe(m.body, describe_msg));
  CHECK(describe_msg.kind == 'S');
  CHECK(describe_msg.name == "s1");
  m = decodeWhole(apibouncer::wire::close('P', "p"));
  CloseMsg close_msg;
  REQUIRE(decodeClose(m.body, close_msg));
  CHECK(close_msg.kind == 'P');
  CHECK(decodeWhole(apibouncer::wire::sync()).header.type == 'S');
  CHECK(decodeWhole(apibouncer::wire::flush()).header.type == 'H');
}

TEST_CASE("DataRow decodes what nullableDataRow wrote; truncations are rejected",
          "[wire][backend]") {
  const std::vector<std::optional<std::string>> values = {"alice", std::nullopt, "", "md5abc"};
  std::string bytes = nullableDataRow(values);
  Message msg;
  REQUIRE(nextMessage(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               bytes.size()),
                      1 << 20, msg) == DecodeStatus::kOk);
  REQUIRE(msg.header.type == be::kDataRow);
  std::vector<std::optional<std::string>> decoded;
  REQUIRE(decodeDataRow(msg.body, decoded));
  CHECK(decoded == values);
  for (size_t cut = 0; cut < msg.body.size(); ++cut) {
    std::vector<std::optional<std::string>> partial;
    CHECK_FALSE(decodeDataRow(msg.body.first(cut), partial));
  }
  std::vector<uint8_t> trailing(msg.body.begin(), msg.body.end());
  trailing.push_back(0);
  std::vector<std::optional<std::string>> extra;
  CHECK_FALSE(decodeDataRow(trailing, extra));
}

// Decoders for frontend (client -> server) message bodies. Pure; views point into the input.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "pooler/wire/packet.h"

namespace apibouncer::wire {

// Frontend message type bytes.
namespace fe {
constexpr char kQuery = 'Q', kParse = 'P', kBind = 'B', kDescribe = 'D', kExecute = 'E',
               kClose = 'C', kSync = 'S', kFlush = 'H', kTerminate = 'X', kCopyData = 'd',
               kCopyDone = 'c', kCopyFail = 'f', kFunctionCall = 'F',
               kPassword = 'p';  // also SASLInitialResponse / SASLResponse / GSS response
}  // namespace fe

// Is `type` a valid frontend message type after startup?
bool isFrontendType(char type);

struct QueryMsg {
  std::string_view sql;
};
struct ParseMsg {
  std::string_view statement;  // "" = unnamed
  std::string_view query;
  std::vector<uint32_t> param_type_oids;
};
struct BindMsg {
  std::string_view portal;
  std::string_view statement;
  std::vector<int16_t> param_formats;
  std::vector<std::optional<std::string_view>> param_values;  // nullopt = SQL NULL
  std::vector<int16_t> result_formats;
};
struct DescribeMsg {
  char kind = 'S';
  std::string_view name;
};  // 'S' statement / 'P' portal
struct CloseMsg {
  char kind = 'S';
  std::string_view name;
};
struct ExecuteMsg {
  std::string_view portal;
  uint32_t max_rows = 0;
};
struct PasswordMsg {
  std::string_view password;
};  // cleartext or "md5..." (NUL stripped)
struct SaslInitialResponseMsg {
  std::string_view mechanism;
  std::optional<std::string_view> data;  // nullopt when length is -1
};
struct SaslResponseMsg {
  std::string_view data;
};

// Each returns false if the body is malformed (missing NULs, counts past the end, bad kinds,
// trailing garbage). They never read past `body`.
bool decodeQuery(std::span<const uint8_t> body, QueryMsg& out);
bool decodeParse(std::span<const uint8_t> body, ParseMsg& out);
bool decodeBind(std::span<const uint8_t> body, BindMsg& out);
bool decodeDescribe(std::span<const uint8_t> body, DescribeMsg& out);
bool decodeClose(std::span<const uint8_t> body, CloseMsg& out);
bool decodeExecute(std::span<const uint8_t> body, ExecuteMsg& out);
bool decodePassword(std::span<const uint8_t> body, PasswordMsg& out);
bool decodeSaslInitialResponse(std::span<const uint8_t> body, SaslInitialResponseMsg& out);
bool decodeSaslResponse(std::span<const uint8_t> body, SaslResponseMsg& out);

// Checks that a whole frontend message is well-formed for its type (used by the fuzz target
// and by policy code that must not forward garbage it has to interpret).
bool validateFrontendMessage(const Message& msg);

}  // namespace apibouncer::wire

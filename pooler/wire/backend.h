// Decoders for backend (server -> client) message bodies. Pure; views point into the input.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pooler/wire/packet.h"

namespace apibouncer::wire {

namespace be {
constexpr char kAuthentication = 'R', kParameterStatus = 'S', kBackendKeyData = 'K',
               kReadyForQuery = 'Z', kErrorResponse = 'E', kNoticeResponse = 'N',
               kRowDescription = 'T', kDataRow = 'D', kCommandComplete = 'C',
               kEmptyQueryResponse = 'I', kParseComplete = '1', kBindComplete = '2',
               kCloseComplete = '3', kNoData = 'n', kParameterDescription = 't',
               kPortalSuspended = 's', kCopyInResponse = 'G', kCopyOutResponse = 'H',
               kCopyBothResponse = 'W', kCopyData = 'd', kCopyDone = 'c',
               kNotificationResponse = 'A', kFunctionCallResponse = 'V',
               kNegotiateProtocolVersion = 'v';
}  // namespace be

// Authentication request codes.
namespace authcode {
constexpr uint32_t kOk = 0, kCleartext = 3, kMd5 = 5, kSasl = 10, kSaslContinue = 11,
                   kSaslFinal = 12;
}

struct AuthenticationMsg {
  uint32_t code = 0;
  std::span<const uint8_t> payload;               // md5: 4-byte salt; SASL: mechanism list / data
  std::vector<std::string_view> sasl_mechanisms;  // filled for kSasl
};
struct ParameterStatusMsg {
  std::string_view name, value;
};
struct BackendKeyDataMsg {
  uint32_t pid = 0, key = 0;
};
struct ReadyForQueryMsg {
  char status = 'I';
};  // 'I' idle, 'T' in transaction, 'E' failed
// ErrorResponse / NoticeResponse: (field code, value) pairs, e.g. ('C', "28P01"), ('M', "...").
struct ErrorFieldsMsg {
  std::vector<std::pair<char, std::string_view>> fields;
  std::string_view field(char code) const;  // empty if absent
};

bool isBackendType(char type);
bool decodeAuthentication(std::span<const uint8_t> body, AuthenticationMsg& out);
bool decodeParameterStatus(std::span<const uint8_t> body, ParameterStatusMsg& out);
bool decodeBackendKeyData(std::span<const uint8_t> body, BackendKeyDataMsg& out);
bool decodeReadyForQuery(std::span<const uint8_t> body, ReadyForQueryMsg& out);
bool decodeErrorFields(std::span<const uint8_t> body, ErrorFieldsMsg& out);
// DataRow's values as text (nullopt: NULL), appended to `out`.
bool decodeDataRow(std::span<const uint8_t> body, std::vector<std::optional<std::string>>& out);

}  // namespace apibouncer::wire

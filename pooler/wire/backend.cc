// Backend message decoders (see backend.h).
#include "pooler/wire/backend.h"

#include "pooler/wire/reader.h"

namespace apibouncer::wire {

bool isBackendType(char type) {
  switch (type) {
    case be::kAuthentication:
    case be::kParameterStatus:
    case be::kBackendKeyData:
    case be::kReadyForQuery:
    case be::kErrorResponse:
    case be::kNoticeResponse:
    case be::kRowDescription:
    case be::kDataRow:
    case be::kCommandComplete:
    case be::kEmptyQueryResponse:
    case be::kParseComplete:
    case be::kBindComplete:
    case be::kCloseComplete:
    case be::kNoData:
    case be::kParameterDescription:
    case be::kPortalSuspended:
    case be::kCopyInResponse:
    case be::kCopyOutResponse:
    case be::kCopyBothResponse:
    case be::kCopyData:
    case be::kCopyDone:
    case be::kNotificationResponse:
    case be::kFunctionCallResponse:
    case be::kNegotiateProtocolVersion:
      return true;
    default:
      return false;
  }
}

bool decodeAuthentication(std::span<const uint8_t> body, AuthenticationMsg& out) {
  BodyReader r(body);
  int32_t code = 0;
  if (!r.i32(code)) return false;
  out.code = static_cast<uint32_t>(code);
  out.payload = body.subspan(4);
  out.sasl_mechanisms.clear();
  if (out.code == authcode::kMd5) return out.payload.size() == 4;
  if (out.code == authcode::kSasl) {
    while (true) {
      std::string_view mechanism;
      if (!r.cstr(mechanism)) return false;
      if (mechanism.empty()) return r.atEnd();
      out.sasl_mechanisms.push_back(mechanism);
    }
  }
  return true;
}

bool decodeParameterStatus(std::span<const uint8_t> body, ParameterStatusMsg& out) {
  BodyReader r(body);
  return r.cstr(out.name) && r.cstr(out.value) && r.atEnd();
}

bool decodeBackendKeyData(std::span<const uint8_t> body, BackendKeyDataMsg& out) {
  BodyReader r(body);
  int32_t pid = 0, key = 0;
  if (!r.i32(pid) || !r.i32(key) || !r.atEnd()) return false;
  out.pid = static_cast<uint32_t>(pid);
  out.key = static_cast<uint32_t>(key);
  return true;
}

bool decodeReadyForQuery(std::span<const uint8_t> body, ReadyForQueryMsg& out) {
  if (body.size() != 1) return false;
  char status = static_cast<char>(body[0]);
  if (status != 'I' && status != 'T' && status != 'E') return false;
  out.status = status;
  return true;
}

std::string_view ErrorFieldsMsg::field(char code) const {
  for (const auto& [c, value] : fields)
    if (c == code) return value;
  return {};
}

bool decodeErrorFields(std::span<const uint8_t> body, ErrorFieldsMsg& out) {
  BodyReader r(body);
  out.fields.clear();
  while (true) {
    uint8_t code = 0;
    if (!r.u8(code)) return false;
    if (code == 0) return r.atEnd();
    std::string_view value;
    if (!r.cstr(value)) return false;
    out.fields.emplace_back(static_cast<char>(code), value);
  }
}

bool decodeDataRow(std::span<const uint8_t> body, std::vector<std::optional<std::string>>& out) {
  BodyReader r(body);
  int16_t count = 0;
  if (!r.i16(count) || count < 0) return false;
  for (int16_t i = 0; i < count; ++i) {
    int32_t len = 0;
    if (!r.i32(len)) return false;
    if (len < 0) {
      out.emplace_back(std::nullopt);
      continue;
    }
    std::string_view value;
    if (!r.bytes(static_cast<size_t>(len), value)) return false;
    out.emplace_back(std::string(value));
  }
  return r.atEnd();
}

}  // namespace apibouncer::wire

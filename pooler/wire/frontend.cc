// Frontend message decoders (see frontend.h). Each rejects truncation and trailing bytes.
#include "pooler/wire/frontend.h"

#include "pooler/wire/reader.h"

namespace apibouncer::wire {

bool isFrontendType(char type) {
  switch (type) {
    case fe::kQuery:
    case fe::kParse:
    case fe::kBind:
    case fe::kDescribe:
    case fe::kExecute:
    case fe::kClose:
    case fe::kSync:
    case fe::kFlush:
    case fe::kTerminate:
    case fe::kCopyData:
    case fe::kCopyDone:
    case fe::kCopyFail:
    case fe::kFunctionCall:
    case fe::kPassword:
      return true;
    default:
      return false;
  }
}

bool decodeQuery(std::span<const uint8_t> body, QueryMsg& out) {
  BodyReader r(body);
  return r.cstr(out.sql) && r.atEnd();
}

bool decodeParse(std::span<const uint8_t> body, ParseMsg& out) {
  BodyReader r(body);
  int16_t count = 0;
  if (!r.cstr(out.statement) || !r.cstr(out.query) || !r.i16(count) || count < 0) return false;
  if (r.remaining() != static_cast<size_t>(count) * 4) return false;
  out.param_type_oids.clear();
  for (int i = 0; i < count; ++i) {
    int32_t oid = 0;
    r.i32(oid);
    out.param_type_oids.push_back(static_cast<uint32_t>(oid));
  }
  return true;
}

namespace {

bool readFormats(BodyReader& r, std::vector<int16_t>& out) {
  int16_t count = 0;
  if (!r.i16(count) || count < 0 || r.remaining() < static_cast<size_t>(count) * 2) return false;
  out.clear();
  for (int i = 0; i < count; ++i) {
    int16_t format = 0;
    r.i16(format);
    if (format != 0 && format != 1) return false;
    out.push_back(format);
  }
  return true;
}

}  // namespace

bool decodeBind(std::span<const uint8_t> body, BindMsg& out) {
  BodyReader r(body);
  if (!r.cstr(out.portal) || !r.cstr(out.statement) || !readFormats(r, out.param_formats))
    return false;
  int16_t count = 0;
  if (!r.i16(count) || count < 0) return false;
  out.param_values.clear();
  for (int i = 0; i < count; ++i) {
    int32_t len = 0;
    if (!r.i32(len) || len < -1) return false;
    if (len == -1) {
      out.param_values.emplace_back(std::nullopt);
      continue;
    }
    std::string_view value;
    if (!r.bytes(static_cast<size_t>(len), value)) return false;
    out.param_values.emplace_back(value);
  }
  return readFormats(r, out.result_formats) && r.atEnd();
}

namespace {

bool decodeKindAndName(std::span<const uint8_t> body, char& kind, std::string_view& name) {
  BodyReader r(body);
  uint8_t k = 0;
  if (!r.u8(k) || (k != 'S' && k != 'P')) return false;
  kind = static_cast<char>(k);
  return r.cstr(name) && r.atEnd();
}

}  // namespace

bool decodeDescribe(std::span<const uint8_t> body, DescribeMsg& out) {
  return decodeKindAndName(body, out.kind, out.name);
}

bool decodeClose(std::span<const uint8_t> body, CloseMsg& out) {
  return decodeKindAndName(body, out.kind, out.name);
}

bool decodeExecute(std::span<const uint8_t> body, ExecuteMsg& out) {
  BodyReader r(body);
  int32_t max_rows = 0;
  if (!r.cstr(out.portal) || !r.i32(max_rows) || !r.atEnd()) return false;
  out.max_rows = static_cast<uint32_t>(max_rows);
  return true;
}

bool decodePassword(std::span<const uint8_t> body, PasswordMsg& out) {
  BodyReader r(body);
  return r.cstr(out.password) && r.atEnd();
}

bool decodeSaslInitialResponse(std::span<const uint8_t> body, SaslInitialResponseMsg& out) {
  BodyReader r(body);
  int32_t len = 0;
  if (!r.cstr(out.mechanism) || !r.i32(len) || len < -1) return false;
  if (len == -1) {
    out.data.reset();
    return r.atEnd();
  }
  std::string_view data;
  if (!r.bytes(static_cast<size_t>(len), data) || !r.atEnd()) return false;
  out.data = data;
  return true;
}

bool decodeSaslResponse(std::span<const uint8_t> body, SaslResponseMsg& out) {
  BodyReader r(body);
  out.data = r.rest();
  return true;
}

namespace {

bool validFunctionCall(std::span<const uint8_t> body) {
  BodyReader r(body);
  int32_t oid = 0;
  std::vector<int16_t> formats;
  int16_t count = 0;
  if (!r.i32(oid) || !readFormats(r, formats) || !r.i16(count) || count < 0) return false;
  for (int i = 0; i < count; ++i) {
    int32_t len = 0;
    std::string_view value;
    if (!r.i32(len) || len < -1) return false;
    if (len > 0 && !r.bytes(static_cast<size_t>(len), value)) return false;
  }
  int16_t result_format = 0;
  return r.i16(result_format) && r.atEnd();
}

}  // namespace

bool validateFrontendMessage(const Message& msg) {
  const auto& body = msg.body;
  switch (msg.header.type) {
    case fe::kQuery: {
      QueryMsg m;
      return decodeQuery(body, m);
    }
    case fe::kParse: {
      ParseMsg m;
      return decodeParse(body, m);
    }
    case fe::kBind: {
      BindMsg m;
      return decodeBind(body, m);
    }
    case fe::kDescribe: {
      DescribeMsg m;
      return decodeDescribe(body, m);
    }
    case fe::kClose: {
      CloseMsg m;
      return decodeClose(body, m);
    }
    case fe::kExecute: {
      ExecuteMsg m;
      return decodeExecute(body, m);
    }
    case fe::kSync:
    case fe::kFlush:
    case fe::kTerminate:
    case fe::kCopyDone:
      return body.empty();
    case fe::kCopyData:
      return true;
    case fe::kCopyFail: {
      QueryMsg m;
      return decodeQuery(body, m);
    }
    case fe::kFunctionCall:
      return validFunctionCall(body);
    case fe::kPassword:
      return !body.empty();
    default:
      return false;
  }
}

}  // namespace apibouncer::wire

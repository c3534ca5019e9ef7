// PacketWriter and the named message constructors (see writer.h).
#include "pooler/wire/writer.h"

#include <cstring>

#include "pooler/wire/packet.h"

namespace apibouncer::wire {
namespace {

// Big-endian, as every length and integer on the wire; returns the byte after the four.
char* storeU32(char* at, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) *at++ = static_cast<char>(value >> shift);
  return at;
}

void appendU32(std::string& out, uint32_t value) {
  char bytes[4];
  storeU32(bytes, value);
  out.append(bytes, sizeof bytes);
}

}  // namespace

PacketWriter& PacketWriter::begin(char type) {
  typed_ = type != 0;
  if (typed_) buf_.push_back(type);
  start_ = buf_.size();
  buf_.append(4, '\0');
  return *this;
}

PacketWriter& PacketWriter::u8(uint8_t v) {
  buf_.push_back(static_cast<char>(v));
  return *this;
}

PacketWriter& PacketWriter::i16(int16_t v) {
  auto u = static_cast<uint16_t>(v);
  buf_.push_back(static_cast<char>(u >> 8));
  buf_.push_back(static_cast<char>(u));
  return *this;
}

PacketWriter& PacketWriter::i32(int32_t v) {
  appendU32(buf_, static_cast<uint32_t>(v));
  return *this;
}

PacketWriter& PacketWriter::cstr(std::string_view s) {
  buf_.append(s);
  buf_.push_back('\0');
  return *this;
}

PacketWriter& PacketWriter::bytes(std::span<const uint8_t> b) {
  buf_.append(reinterpret_cast<const char*>(b.data()), b.size());
  return *this;
}

PacketWriter& PacketWriter::bytes(std::string_view b) {
  buf_.append(b);
  return *this;
}

PacketWriter& PacketWriter::end() {
  auto len = static_cast<uint32_t>(buf_.size() - start_);
  storeU32(buf_.data() + start_, len);
  return *this;
}

namespace {

std::string fieldsMessage(char type, const ErrorSpec& e) {
  PacketWriter w;
  w.begin(type).u8('S').cstr(e.severity).u8('V').cstr(e.severity).u8('C').cstr(e.sqlstate);
  w.u8('M').cstr(e.message);
  if (!e.detail.empty()) w.u8('D').cstr(e.detail);
  if (!e.hint.empty()) w.u8('H').cstr(e.hint);
  return w.u8(0).end().take();
}

std::string authMessage(uint32_t code, std::string_view payload = {}) {
  return PacketWriter().begin('R').i32(static_cast<int32_t>(code)).bytes(payload).end().take();
}

}  // namespace

std::string errorResponse(const ErrorSpec& e) {
  return fieldsMessage('E', e);
}
std::string noticeResponse(const ErrorSpec& e) {
  return fieldsMessage('N', e);
}
std::string authenticationOk() {
  return authMessage(0);
}
std::string authenticationCleartext() {
  return authMessage(3);
}

std::string authenticationMd5(std::span<const uint8_t, 4> salt) {
  return authMessage(5, std::string_view(reinterpret_cast<const char*>(salt.data()), 4));
}

std::string authenticationSasl(const std::vector<std::string_view>& mechanisms) {
  PacketWriter w;
  w.begin('R').i32(10);
  for (auto m : mechanisms) w.cstr(m);
  return w.u8(0).end().take();
}

std::string authenticationSaslContinue(std::string_view data) {
  return authMessage(11, data);
}
std::string authenticationSaslFinal(std::string_view data) {
  return authMessage(12, data);
}

// The welcome messages are written by hand rather than through PacketWriter: every login
// builds about fifteen of them.
void appendParameterStatus(std::string& out, std::string_view name, std::string_view value) {
  size_t body = 4 + name.size() + 1 + value.size() + 1;
  size_t at = out.size();
  out.resize(at + 1 + body);
  char* p = out.data() + at;
  *p++ = 'S';
  p = storeU32(p, static_cast<uint32_t>(body));
  std::memcpy(p, name.data(), name.size());
  p += name.size() + 1;  // resize() wrote the NULs
  std::memcpy(p, value.data(), value.size());
}

void appendBackendKeyData(std::string& out, uint32_t pid, uint32_t key) {
  out.push_back('K');
  appendU32(out, 12);
  appendU32(out, pid);
  appendU32(out, key);
}

void appendReadyForQuery(std::string& out, char status) {
  out.push_back('Z');
  appendU32(out, 5);
  out.push_back(status);
}

std::string parameterStatus(std::string_view name, std::string_view value) {
  std::string out;
  appendParameterStatus(out, name, value);
  return out;
}

std::string backendKeyData(uint32_t pid, uint32_t key) {
  std::string out;
  appendBackendKeyData(out, pid, key);
  return out;
}

std::string readyForQuery(char status) {
  std::string out;
  appendReadyForQuery(out, status);
  return out;
}

std::string negotiateProtocolVersion(uint32_t newest_minor,
                                     const std::vector<std::string>& unsupported_options) {
  PacketWriter w;
  w.begin('v').i32(static_cast<int32_t>(kProtocolV3 | newest_minor));
  w.i32(static_cast<int32_t>(unsupported_options.size()));
  for (const auto& option : unsupported_options) w.cstr(option);
  return w.end().take();
}

std::string rowDescription(const std::vector<std::string_view>& column_names) {
  PacketWriter w;
  w.begin('T').i16(static_cast<int16_t>(column_names.size()));
  for (auto name : column_names) w.cstr(name).i32(0).i16(0).i32(25).i16(-1).i32(-1).i16(0);
  return w.end().take();
}

std::string dataRow(const std::vector<std::string_view>& values) {
  PacketWriter w;
  w.begin('D').i16(static_cast<int16_t>(values.size()));
  for (auto v : values) w.i32(static_cast<int32_t>(v.size())).bytes(v);
  return w.end().take();
}

std::string typedRowDescription(const std::vector<FieldSpec>& fields) {
  PacketWriter w;
  w.begin('T').i16(static_cast<int16_t>(fields.size()));
  for (const auto& f : fields)
    w.cstr(f.name)
        .i32(static_cast<int32_t>(f.table_oid))
        .i16(f.column)
        .i32(static_cast<int32_t>(f.type_oid))
        .i16(f.type_size)
        .i32(f.type_modifier)
        .i16(f.format);
  return w.end().take();
}

std::string nullableDataRow(const std::vector<std::optional<std::string>>& values) {
  PacketWriter w;
  w.begin('D').i16(static_cast<int16_t>(values.size()));
  for (const auto& v : values) {
    if (!v) {
      w.i32(-1);
      continue;
    }
    w.i32(static_cast<int32_t>(v->size())).bytes(*v);
  }
  return w.end().take();
}

std::string commandComplete(std::string_view tag) {
  return PacketWriter().begin('C').cstr(tag).end().take();
}

std::string emptyQueryResponse() {
  return PacketWriter().begin('I').end().take();
}

std::string parseComplete() {
  return PacketWriter().begin('1').end().take();
}

std::string closeComplete() {
  return PacketWriter().begin('3').end().take();
}

void appendMessage(std::string& out, char type, std::initializer_list<std::string_view> parts) {
  size_t length = 4;
  for (std::string_view part : parts) length += part.size();
  out += type;
  appendU32(out, static_cast<uint32_t>(length));
  for (std::string_view part : parts) out.append(part);
}

std::string startupMessage(uint32_t protocol_version,
                           const std::vector<std::pair<std::string, std::string>>& params) {
  PacketWriter w;
  w.begin(0).i32(static_cast<int32_t>(protocol_version));
  for (const auto& [name, value] : params) w.cstr(name).cstr(value);
  return w.u8(0).end().take();
}

std::string sslRequest() {
  return PacketWriter().begin(0).i32(static_cast<int32_t>(kSslRequestCode)).end().take();
}

std::string cancelRequest(uint32_t pid, uint32_t key) {
  return PacketWriter()
      .begin(0)
      .i32(static_cast<int32_t>(kCancelRequestCode))
      .i32(static_cast<int32_t>(pid))
      .i32(static_cast<int32_t>(key))
      .end()
      .take();
}

std::string passwordMessage(std::string_view password) {
  return PacketWriter().begin('p').cstr(password).end().take();
}

std::string saslInitialResponse(std::string_view mechanism, std::string_view data) {
  return PacketWriter()
      .begin('p')
      .cstr(mechanism)
      .i32(static_cast<int32_t>(data.size()))
      .bytes(data)
      .end()
      .take();
}

std::string saslResponse(std::string_view data) {
  return PacketWriter().begin('p').bytes(data).end().take();
}

std::string query(std::string_view sql) {
  return PacketWriter().begin('Q').cstr(sql).end().take();
}
std::string terminate() {
  return PacketWriter().begin('X').end().take();
}

std::string parse(std::string_view statement, std::string_view query) {
  return PacketWriter().begin('P').cstr(statement).cstr(query).i16(0).end().take();
}

std::string bind(std::string_view portal, std::string_view statement) {
  return PacketWriter().begin('B').cstr(portal).cstr(statement).i16(0).i16(0).i16(0).end().take();
}

std::string execute(std::string_view portal) {
  return PacketWriter().begin('E').cstr(portal).i32(0).end().take();
}

std::string describe(char kind, std::string_view name) {
  return PacketWriter().begin('D').u8(static_cast<uint8_t>(kind)).cstr(name).end().take();
}

std::string close(char kind, std::string_view name) {
  return PacketWriter().begin('C').u8(static_cast<uint8_t>(kind)).cstr(name).end().take();
}

std::string sync() {
  return PacketWriter().begin('S').end().take();
}

std::string flush() {
  return PacketWriter().begin('H').end().take();
}

}  // namespace apibouncer::wire

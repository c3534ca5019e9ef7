// Builds wire messages. The only place that turns values into protocol bytes; pooler errors
// sent to clients come from the named constructors here (one SQLSTATE vocabulary).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apibouncer::wire {

// Appends messages to a growing byte string. begin() writes the type byte and a length
// placeholder; end() patches the length. Messages may be chained into one buffer.
class PacketWriter {
 public:
  PacketWriter& begin(char type);  // type 0 = untyped (startup-phase) packet
  PacketWriter& u8(uint8_t v);
  PacketWriter& i16(int16_t v);
  PacketWriter& i32(int32_t v);
  PacketWriter& cstr(std::string_view s);  // bytes + NUL
  PacketWriter& bytes(std::span<const uint8_t> b);
  PacketWriter& bytes(std::string_view b);
  PacketWriter& end();
  const std::string& data() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
  size_t start_ = 0;
  bool typed_ = false;
};

// SQLSTATEs the pooler itself raises.
namespace sqlstate {
constexpr std::string_view kProtocolViolation = "08P01";
constexpr std::string_view kConnectionFailure = "08006";
constexpr std::string_view kCannotConnectNow = "57P03";
constexpr std::string_view kAdminShutdown = "57P01";
constexpr std::string_view kInvalidPassword = "28P01";
constexpr std::string_view kInvalidAuthorization = "28000";
constexpr std::string_view kTooManyConnections = "53300";
constexpr std::string_view kInvalidCatalogName = "3D000";
constexpr std::string_view kQueryCanceled = "57014";
constexpr std::string_view kFeatureNotSupported = "0A000";
constexpr std::string_view kDuplicatePreparedStatement = "42P05";
constexpr std::string_view kProgramLimitExceeded = "54000";
constexpr std::string_view kInternalError = "XX000";
}  // namespace sqlstate

struct ErrorSpec {
  std::string_view severity = "FATAL";  // ERROR, FATAL, NOTICE, ...
  std::string_view sqlstate;
  std::string_view message;
  std::string_view detail = {};
  std::string_view hint = {};
};

// Backend messages (pooler -> client).
std::string errorResponse(const ErrorSpec& e);   // 'E' with S, V, C, M, [D], [H]
std::string noticeResponse(const ErrorSpec& e);  // 'N'
std::string authenticationOk();
std::string authenticationCleartext();
std::string authenticationMd5(std::span<const uint8_t, 4> salt);
std::string authenticationSasl(const std::vector<std::string_view>& mechanisms);
std::string authenticationSaslContinue(std::string_view data);
std::string authenticationSaslFinal(std::string_view data);
std::string parameterStatus(std::string_view name, std::string_view value);
std::string backendKeyData(uint32_t pid, uint32_t key);
std::string readyForQuery(char status);
// The same three appended to `out`: a login's welcome is built in one buffer.
void appendParameterStatus(std::string& out, std::string_view name, std::string_view value);
void appendBackendKeyData(std::string& out, uint32_t pid, uint32_t key);
void appendReadyForQuery(std::string& out, char status);
std::string negotiateProtocolVersion(uint32_t newest_minor,
                                     const std::vector<std::string>& unsupported_options);
// A simple-query result set of text columns (admin console and tests).
std::string rowDescription(const std::vector<std::string_view>& column_names);
std::string dataRow(const std::vector<std::string_view>& values);  // text; use nullRow for NULLs
// A result set described as PostgreSQL described it (types, sizes, formats) and rows that may
// hold NULLs: replies the pooler builds for statements it ran elsewhere.
struct FieldSpec {
  std::string_view name;
  uint32_t table_oid = 0;
  int16_t column = 0;
  uint32_t type_oid = 25;
  int16_t type_size = -1;
  int32_t type_modifier = -1;
  int16_t format = 0;
};
std::string typedRowDescription(const std::vector<FieldSpec>& fields);
std::string nullableDataRow(const std::vector<std::optional<std::string>>& values);
std::string commandComplete(std::string_view tag);
std::string emptyQueryResponse();
std::string parseComplete();
std::string closeComplete();

// Appends one typed message whose body is `parts` in order (rewriting a message in place of
// the original without building it twice).
void appendMessage(std::string& out, char type, std::initializer_list<std::string_view> parts);

// Frontend messages (pooler -> server, and tests acting as clients).
std::string startupMessage(uint32_t protocol_version,
                           const std::vector<std::pair<std::string, std::string>>& params);
std::string sslRequest();
std::string cancelRequest(uint32_t pid, uint32_t key);
std::string passwordMessage(std::string_view password);
std::string saslInitialResponse(std::string_view mechanism, std::string_view data);
std::string saslResponse(std::string_view data);
std::string query(std::string_view sql);
std::string terminate();
// Extended protocol, in their simplest forms: no parameter types or values, text results.
std::string parse(std::string_view statement, std::string_view query);
std::string bind(std::string_view portal, std::string_view statement);
std::string execute(std::string_view portal = {});       // all rows
std::string describe(char kind, std::string_view name);  // kind 'S' statement, 'P' portal
std::string close(char kind, std::string_view name);
std::string sync();
std::string flush();

}  // namespace apibouncer::wire

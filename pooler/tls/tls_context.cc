// Builds an SSL_CTX from PgBouncer-style TLS settings, naming the offending key on any error.
#include "pooler/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <system_error>

namespace apibouncer::tls {

namespace {

struct ModeName {
  SslMode mode;
  std::string_view name;
};

constexpr std::array<ModeName, 6> kModeNames{{
    {SslMode::kDisable, "disable"},
    {SslMode::kAllow, "allow"},
    {SslMode::kPrefer, "prefer"},
    {SslMode::kRequire, "require"},
    {SslMode::kVerifyCa, "verify-ca"},
    {SslMode::kVerifyFull, "verify-full"},
}};

struct ProtocolWord {
  std::string_view word;
  int low, high;
};

constexpr std::array<ProtocolWord, 9> kProtocolWords{{
    {"tlsv1.0", TLS1_VERSION, TLS1_VERSION},
    {"tlsv1.1", TLS1_1_VERSION, TLS1_1_VERSION},
    {"tlsv1.2", TLS1_2_VERSION, TLS1_2_VERSION},
    {"tlsv1.3", TLS1_3_VERSION, TLS1_3_VERSION},
    {"all", TLS1_VERSION, TLS1_3_VERSION},
    {"legacy", TLS1_VERSION, TLS1_3_VERSION},
    {"secure", TLS1_2_VERSION, TLS1_3_VERSION},
    {"default", TLS1_2_VERSION, TLS1_3_VERSION},  // libtls spelling of "secure"
    {"tlsv1", TLS1_VERSION, TLS1_VERSION},        // libtls spelling of "tlsv1.0"
}};

struct CipherAlias {
  std::string_view alias;
  const char* list;
};

// PgBouncer's aliases. Every list drops anonymous and known-broken suites.
constexpr std::array<CipherAlias, 5> kCipherAliases{{
    {"default", "HIGH:!aNULL"},
    {"secure", "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!MD5:!RC4:!3DES"},
    {"fast", "ECDHE+AESGCM:ECDHE+CHACHA20:HIGH:!aNULL:!MD5:!RC4:!3DES"},
    {"normal", "HIGH:MEDIUM:!aNULL:!MD5:!RC4:!3DES"},
    {"all", "ALL"},
}};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// The first reason on this thread's error queue, then an empty queue so that nothing leaks
// into the next connection's error.
std::string takeOpenSslReason() {
  unsigned long code = ERR_peek_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

// OpenSSL reports an unreadable file as a generic "system lib" error; opening it first gives
// the operator the path and the errno text.
bool readable(const std::string& path, std::string* why) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    *why = std::generic_category().message(errno);
    return false;
  }
  std::fclose(file);
  return true;
}

bool isVerifying(SslMode mode) {
  return mode == SslMode::kVerifyCa || mode == SslMode::kVerifyFull;
}

// Applies one ContextSettings to a fresh SSL_CTX; every step stops at the first problem.
class Builder {
 public:
  Builder(const ContextSettings& settings, SSL_CTX* ctx, std::string* error)
      : s_(settings), ctx_(ctx), error_(error) {}

  bool build() {
    SSL_CTX_set_options(ctx_, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (s_.role == Role::kAccept) SSL_CTX_set_options(ctx_, SSL_OP_CIPHER_SERVER_PREFERENCE);
    return applyProtocols() && applyCiphers() && applyKeyExchange() && applyCertificate() &&
           applyVerification();
  }

 private:
  // "tls_cert_file" -> "client_tls_cert_file" (kAccept) or "server_tls_cert_file" (kConnect).
  std::string key(std::string_view suffix) const {
    std::string name = s_.role == Role::kAccept ? "client_" : "server_";
    name.append(suffix);
    return name;
  }

  bool fail(std::string_view suffix, std::string_view message) {
    ERR_clear_error();
    if (error_ != nullptr) *error_ = key(suffix) + ": " + std::string(message);
    return false;
  }

  bool applyProtocols();
  bool applyCiphers();
  bool applyTls13Ciphers();
  bool applyKeyExchange();
  bool applyCurves();
  bool applyDhParams();
  bool applyCertificate();
  bool loadCertificatePair();
  bool applyVerification();
  bool loadCaFile();

  const ContextSettings& s_;
  SSL_CTX* ctx_;
  std::string* error_;
};

// OpenSSL only takes a min and a max version, so "tlsv1.0,tlsv1.2" also enables 1.1: a gap in
// the middle cannot be expressed. We use the lowest and highest version named.
bool Builder::applyProtocols() {
  int low = 0, high = 0;
  std::string_view rest = s_.protocols;
  while (!rest.empty()) {
    size_t end = rest.find_first_of(", :\t");
    std::string_view word = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (word.empty()) continue;
    const ProtocolWord* found = nullptr;
    for (const auto& entry : kProtocolWords)
      if (equalsIgnoreCase(word, entry.word)) found = &entry;
    if (found == nullptr)
      return fail("tls_protocols", "unknown protocol \"" + std::string(word) + "\"");
    if (low == 0 || found->low < low) low = found->low;
    if (found->high > high) high = found->high;
  }
  if (low == 0) return fail("tls_protocols", "no protocol listed");
  if (SSL_CTX_set_min_proto_version(ctx_, low) != 1 ||
      SSL_CTX_set_max_proto_version(ctx_, high) != 1)
    return fail("tls_protocols", takeOpenSslReason());
  return true;
}

bool Builder::applyCiphers() {
  const char* list = s_.ciphers.c_str();
  for (const auto& entry : kCipherAliases)
    if (equalsIgnoreCase(s_.ciphers, entry.alias)) list = entry.list;
  if (SSL_CTX_set_cipher_list(ctx_, list) != 1)
    return fail("tls_ciphers", "\"" + s_.ciphers + "\": " + takeOpenSslReason());
  return applyTls13Ciphers();
}

// OpenSSL skips unknown TLS 1.3 suite names silently, so a list of only typos would quietly
// disable TLS 1.3; count what survived instead.
bool Builder::applyTls13Ciphers() {
  if (s_.tls13_ciphers.empty()) return true;
  if (SSL_CTX_set_ciphersuites(ctx_, s_.tls13_ciphers.c_str()) != 1)
    return fail("tls13_ciphers", "\"" + s_.tls13_ciphers + "\": " + takeOpenSslReason());
  const STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx_);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i)
    if (std::string_view(SSL_CIPHER_get_version(sk_SSL_CIPHER_value(ciphers, i))) == "TLSv1.3")
      return true;
  return fail("tls13_ciphers", "\"" + s_.tls13_ciphers + "\": no known TLS 1.3 cipher suite");
}

bool Builder::applyKeyExchange() {
  if (s_.role != Role::kAccept) return true;  // the server picks the key exchange
  return applyCurves() && applyDhParams();
}

bool Builder::applyCurves() {
  if (equalsIgnoreCase(s_.ecdhcurve, "auto") || equalsIgnoreCase(s_.ecdhcurve, "none")) return true;
  if (SSL_CTX_set1_groups_list(ctx_, s_.ecdhcurve.c_str()) != 1)
    return fail("tls_ecdhcurve", "\"" + s_.ecdhcurve + "\": " + takeOpenSslReason());
  return true;
}

// "auto" and "legacy" both let OpenSSL pick a DH group matching the certificate's strength;
// "none" leaves DHE suites without parameters, so they are never chosen.
bool Builder::applyDhParams() {
  if (equalsIgnoreCase(s_.dheparams, "none")) return true;
  if (!equalsIgnoreCase(s_.dheparams, "auto") && !equalsIgnoreCase(s_.dheparams, "legacy"))
    return fail("tls_dheparams", "unknown value \"" + s_.dheparams + "\" (none, auto, legacy)");
  if (SSL_CTX_set_dh_auto(ctx_, 1) != 1) return fail("tls_dheparams", takeOpenSslReason());
  return true;
}

bool Builder::applyCertificate() {
  bool has_cert = !s_.cert_file.empty(), has_key = !s_.key_file.empty();
  if (s_.role == Role::kAccept && s_.mode != SslMode::kDisable) {
    if (!has_cert) return fail("tls_cert_file", "required to accept TLS connections");
    if (!has_key) return fail("tls_key_file", "required to accept TLS connections");
  }
  if (has_cert && !has_key) return fail("tls_key_file", "required with " + key("tls_cert_file"));
  if (has_key && !has_cert) return fail("tls_cert_file", "required with " + key("tls_key_file"));
  return !has_cert || loadCertificatePair();
}

bool Builder::loadCertificatePair() {
  std::string why;
  if (!readable(s_.cert_file, &why))
    return fail("tls_cert_file", "cannot read " + s_.cert_file + ": " + why);
  if (!readable(s_.key_file, &why))
    return fail("tls_key_file", "cannot read " + s_.key_file + ": " + why);
  if (SSL_CTX_use_certificate_chain_file(ctx_, s_.cert_file.c_str()) != 1)
    return fail("tls_cert_file", s_.cert_file + ": " + takeOpenSslReason());
  if (SSL_CTX_use_PrivateKey_file(ctx_, s_.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("tls_key_file", s_.key_file + ": " + takeOpenSslReason());
  if (SSL_CTX_check_private_key(ctx_) != 1)
    return fail("tls_key_file",
                s_.key_file + " does not match " + s_.cert_file + ": " + takeOpenSslReason());
  return true;
}

bool Builder::applyVerification() {
  bool verifying = isVerifying(s_.mode);
  if (verifying && s_.ca_file.empty())
    return fail("tls_ca_file",
                "required with " + key("tls_sslmode") + " " + std::string(sslModeName(s_.mode)));
  if (!s_.ca_file.empty() && !loadCaFile()) return false;
  int mode = SSL_VERIFY_NONE;
  if (s_.role == Role::kConnect && verifying) mode = SSL_VERIFY_PEER;
  if (s_.role == Role::kAccept && !s_.ca_file.empty()) mode = SSL_VERIFY_PEER;
  if (s_.role == Role::kAccept && verifying) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx_, mode, nullptr);
  return true;
}

bool Builder::loadCaFile() {
  std::string why;
  if (!readable(s_.ca_file, &why))
    return fail("tls_ca_file", "cannot read " + s_.ca_file + ": " + why);
  if (SSL_CTX_load_verify_file(ctx_, s_.ca_file.c_str()) != 1)
    return fail("tls_ca_file", s_.ca_file + ": " + takeOpenSslReason());
  if (s_.role != Role::kAccept) return true;
  // Tells clients which CAs we accept, so one holding several certificates picks the right one.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s_.ca_file.c_str());
  if (names != nullptr) SSL_CTX_set_client_CA_list(ctx_, names);
  // Resuming a session that carried a client certificate needs a session id context.
  static constexpr unsigned char kSessionContext[] = "apibouncer";
  if (SSL_CTX_set_session_id_context(ctx_, kSessionContext, sizeof(kSessionContext) - 1) != 1)
    return fail("tls_ca_file", takeOpenSslReason());
  ERR_clear_error();
  return true;
}

}  // namespace

std::optional<SslMode> parseSslMode(std::string_view text) {
  for (const auto& entry : kModeNames)
    if (equalsIgnoreCase(text, entry.name)) return entry.mode;
  return std::nullopt;
}

std::string_view sslModeName(SslMode mode) {
  for (const auto& entry : kModeNames)
    if (entry.mode == mode) return entry.name;
  return "unknown";
}

std::shared_ptr<Context> Context::create(const ContextSettings& settings, std::string* error) {
  ERR_clear_error();
  SSL_CTX* ctx =
      SSL_CTX_new(settings.role == Role::kAccept ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) {
    if (error != nullptr) *error = "cannot create TLS context: " + takeOpenSslReason();
    return nullptr;
  }
  if (!Builder(settings, ctx, error).build()) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return std::shared_ptr<Context>(new Context(settings.role, settings.mode, ctx));
}

Context::~Context() {
  SSL_CTX_free(ctx_);
}

}  // namespace apibouncer::tls

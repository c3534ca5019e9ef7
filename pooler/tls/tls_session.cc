// One TLS connection driven over memory BIOs: the caller moves the bytes to and from the socket.
#include "pooler/tls/tls_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>

namespace apibouncer::tls {

namespace {

// SSL_read_ex returns at most one record, and a record carries at most 16 KiB of plain text.
constexpr size_t kMaxRecordPlain = 16384;

bool setError(std::string* error, std::string message) {
  ERR_clear_error();
  if (error != nullptr) *error = std::move(message);
  return false;
}

std::string openSslReason() {
  unsigned long code = ERR_peek_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

// A literal address (or anything with a ':', which no DNS name has) is not a host name: it gets
// no SNI (RFC 6066 forbids it) and is matched against the certificate's IP addresses.
bool isAddressLiteral(const std::string& host) {
  in6_addr address;
  return host.find(':') != std::string::npos || inet_pton(AF_INET, host.c_str(), &address) == 1;
}

}  // namespace

std::unique_ptr<Session> Session::create(std::shared_ptr<Context> context,
                                         std::string_view peer_host, std::string* error) {
  if (!context) {
    setError(error, "no TLS context");
    return nullptr;
  }
  ERR_clear_error();
  SSL* ssl = SSL_new(context->native());
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (ssl == nullptr || rbio == nullptr || wbio == nullptr) {
    setError(error, "cannot create TLS session: " + openSslReason());
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    return nullptr;
  }
  BIO_set_mem_eof_return(rbio, -1);  // no input yet means "retry", not end of stream
  SSL_set_bio(ssl, rbio, wbio);
  bool accept = context->role() == Role::kAccept;
  std::unique_ptr<Session> session(new Session(std::move(context), ssl, rbio, wbio));
  if (accept) {
    SSL_set_accept_state(ssl);
    return session;
  }
  SSL_set_connect_state(ssl);
  if (!session->setPeerHost(peer_host, error)) return nullptr;
  return session;
}

Session::~Session() {
  SSL_free(ssl_);
}

bool Session::setPeerHost(std::string_view peer_host, std::string* error) {
  bool verify_name = context_->mode() == SslMode::kVerifyFull;
  if (peer_host.empty() || peer_host.front() == '/') {  // a Unix socket has no name to check
    if (!verify_name) return true;
    return setError(error, "server_tls_sslmode verify-full needs a host name to check");
  }
  std::string host(peer_host);  // OpenSSL wants a NUL-terminated string
  bool literal = isAddressLiteral(host);
  if (!literal && SSL_set_tlsext_host_name(ssl_, host.c_str()) != 1)
    return setError(error, "cannot send server name " + host + ": " + openSslReason());
  if (!verify_name) return true;
  if (literal) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) != 1)
      return setError(error, "cannot check certificate against address " + host);
    return true;
  }
  SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl_, host.c_str()) != 1)
    return setError(error, "cannot check certificate against host " + host);
  return true;
}

Session::Status Session::start(std::string& to_peer) {
  if (failed_) return Status::kError;
  if (context_->role() == Role::kAccept) return Status::kOk;
  ERR_clear_error();  // SSL_get_error reads the queue: start from an empty one
  return handshake(to_peer);
}

Session::Status Session::receive(std::span<const uint8_t> encrypted, std::string& plain,
                                 std::string& to_peer) {
  if (failed_) return Status::kError;
  if (closed_) return Status::kClosed;
  ERR_clear_error();
  size_t written = 0;
  if (!encrypted.empty() &&
      BIO_write_ex(rbio_, encrypted.data(), encrypted.size(), &written) != 1) {
    error_ = "cannot buffer TLS input: " + openSslReason();
    failed_ = true;
    ERR_clear_error();
    return Status::kError;
  }
  if (!SSL_is_init_finished(ssl_)) {
    Status status = handshake(to_peer);
    if (status != Status::kOk || !SSL_is_init_finished(ssl_)) return status;
  }
  return readRecords(plain, to_peer);
}

Session::Status Session::send(std::string_view plain, std::string& to_peer) {
  if (failed_) return Status::kError;
  if (!SSL_is_init_finished(ssl_)) {
    pending_.append(plain);
    return Status::kOk;
  }
  ERR_clear_error();
  return write(plain, to_peer);
}

void Session::shutdown(std::string& to_peer) {
  if (failed_ || !SSL_is_init_finished(ssl_)) return;  // nothing sane to close
  ERR_clear_error();
  SSL_shutdown(ssl_);  // we never wait for the peer's close_notify
  drain(to_peer);
  ERR_clear_error();
}

Session::Status Session::handshake(std::string& to_peer) {
  int ret = SSL_do_handshake(ssl_);
  drain(to_peer);
  if (ret == 1) return flushPending(to_peer);
  return onSslError(ret, to_peer);
}

Session::Status Session::flushPending(std::string& to_peer) {
  if (pending_.empty()) return Status::kOk;
  Status status = write(pending_, to_peer);
  std::string().swap(pending_);  // rarely used: give the memory back
  return status;
}

Session::Status Session::readRecords(std::string& plain, std::string& to_peer) {
  std::array<char, kMaxRecordPlain> buffer;
  for (;;) {
    size_t n = 0;
    int ret = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    // Reading may also produce output: TLS 1.3 key update replies, alerts.
    drain(to_peer);
    if (ret != 1) return onSslError(ret, to_peer);
    plain.append(buffer.data(), n);
  }
}

Session::Status Session::write(std::string_view plain, std::string& to_peer) {
  if (plain.empty()) return Status::kOk;
  size_t written = 0;
  int ret = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
  drain(to_peer);
  // The write BIO grows as needed, so a write is whole or failed; any retry would lose bytes.
  if (ret == 1) return Status::kOk;
  return fail(SSL_get_error(ssl_, ret), to_peer);
}

Session::Status Session::onSslError(int ret, std::string& to_peer) {
  int ssl_error = SSL_get_error(ssl_, ret);
  if (ssl_error == SSL_ERROR_WANT_READ) return Status::kOk;
  if (ssl_error != SSL_ERROR_ZERO_RETURN) return fail(ssl_error, to_peer);
  closed_ = true;
  ERR_clear_error();
  return Status::kClosed;
}

Session::Status Session::fail(int ssl_error, std::string& to_peer) {
  error_ = describe(ssl_error);
  failed_ = true;
  drain(to_peer);  // the alert telling the peer why
  ERR_clear_error();
  return Status::kError;
}

// One line: OpenSSL's first queued error and, for a rejected certificate, the reason why.
std::string Session::describe(int ssl_error) const {
  unsigned long code = ERR_peek_error();
  if (code == 0) {
    if (ssl_error == SSL_ERROR_SYSCALL) return "TLS stream ended unexpectedly";
    return "TLS error (SSL_get_error " + std::to_string(ssl_error) + ")";
  }
  std::array<char, 256> text;
  ERR_error_string_n(code, text.data(), text.size());
  std::string message = text.data();
  long verify = SSL_get_verify_result(ssl_);
  if (ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK) {
    message += ": ";
    message += X509_verify_cert_error_string(verify);
  }
  return message;
}

void Session::drain(std::string& to_peer) {
  size_t pending = BIO_ctrl_pending(wbio_);
  if (pending == 0) return;
  size_t old_size = to_peer.size();
  to_peer.resize(old_size + pending);
  size_t n = 0;
  if (BIO_read_ex(wbio_, to_peer.data() + old_size, pending, &n) != 1) n = 0;
  to_peer.resize(old_size + n);
}

bool Session::handshakeDone() const {
  return SSL_is_init_finished(ssl_) == 1;
}

bool Session::peerCertificatePresent() const {
  if (SSL_get0_peer_certificate(ssl_) == nullptr) return false;
  if (SSL_get_verify_mode(ssl_) == SSL_VERIFY_NONE) return true;
  return SSL_get_verify_result(ssl_) == X509_V_OK;
}

std::string Session::peerCommonName() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  unsigned char* utf8 = nullptr;
  int length =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (length < 0) return "";
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  // "alice\0.example" must not pass for "alice" wherever the name is compared as a C string.
  if (name.find('\0') != std::string::npos) return "";
  return name;
}

std::string Session::protocolName() const {
  return SSL_get_version(ssl_);
}

std::string Session::cipherName() const {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  return cipher != nullptr ? SSL_CIPHER_get_name(cipher) : "";
}

int Session::cipherBits() const {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  return cipher != nullptr ? SSL_CIPHER_get_bits(cipher, nullptr) : 0;
}

}  // namespace apibouncer::tls

// One TLS connection over memory BIOs: encrypted bytes in, plain bytes out, and back.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "pooler/tls/tls_context.h"

namespace apibouncer::tls {

// No sockets here: the caller reads and writes the socket and passes the bytes through. Every
// call APPENDS to the caller's strings, so one pair of buffers can serve many connections.
class Session {
 public:
  enum class Status { kOk, kClosed /* peer sent close_notify */, kError };

  // peer_host: kConnect only — sent as SNI (if it is a name, not an IP) and, with kVerifyFull,
  // checked against the certificate. nullptr + *error on failure.
  static std::unique_ptr<Session> create(std::shared_ptr<Context> context,
                                         std::string_view peer_host, std::string* error);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // kConnect: produces the ClientHello into to_peer. kAccept: no-op (waits for ClientHello).
  Status start(std::string& to_peer);
  // Bytes read from the socket. Decrypted application bytes are appended to plain (also when
  // the status is kClosed: data that preceded the close_notify); bytes that must be written to
  // the socket (handshake, alerts, session tickets) are appended to to_peer. On kError, error()
  // says why and to_peer may hold an alert that should still be written before closing.
  Status receive(std::span<const uint8_t> encrypted, std::string& plain, std::string& to_peer);
  // Encrypts application bytes, appended to to_peer. Before the handshake is done the bytes
  // are kept and encrypted as soon as it completes (inside receive()).
  Status send(std::string_view plain, std::string& to_peer);
  // close_notify into to_peer (best effort).
  void shutdown(std::string& to_peer);

  bool handshakeDone() const;
  const std::string& error() const { return error_; }
  // The peer sent a certificate and it verified (or we did not ask to verify).
  bool peerCertificatePresent() const;
  std::string peerCommonName() const;  // subject CN of the peer certificate, "" if none
  std::string protocolName() const;    // "TLSv1.3"
  std::string cipherName() const;      // "TLS_AES_256_GCM_SHA384"
  int cipherBits() const;

 private:
  Session(std::shared_ptr<Context> context, SSL* ssl, BIO* rbio, BIO* wbio)
      : context_(std::move(context)), ssl_(ssl), rbio_(rbio), wbio_(wbio) {}

  bool setPeerHost(std::string_view peer_host, std::string* error);
  Status handshake(std::string& to_peer);
  Status flushPending(std::string& to_peer);
  Status readRecords(std::string& plain, std::string& to_peer);
  Status write(std::string_view plain, std::string& to_peer);
  Status onSslError(int ret, std::string& to_peer);
  Status fail(int ssl_error, std::string& to_peer);
  std::string describe(int ssl_error) const;
  void drain(std::string& to_peer);

  std::shared_ptr<Context> context_;  // keeps the SSL_CTX alive across a reload
  SSL* ssl_;                          // owned; owns both BIOs
  BIO* rbio_;                         // socket -> OpenSSL
  BIO* wbio_;                         // OpenSSL -> socket
  std::string pending_;               // plain bytes sent before the handshake completed
  std::string error_;
  bool failed_ = false;
  bool closed_ = false;  // close_notify received
};

}  // namespace apibouncer::tls

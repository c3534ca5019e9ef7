// One socket on the loop (TCP or Unix): reads into the loop's shared buffer, writes with
// uv_try_write and queues only what the kernel did not take, closes through libuv's close
// callback. Once TLS is started, bytes pass through a tls::Session both ways and the derived
// class sees only plain protocol bytes. Clients and server links derive from it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "pooler/tls/tls_session.h"

namespace apibouncer {

class Connection {
 public:
  enum class Transport { kTcp, kUnix };

  Connection(uv_loop_t* loop, Transport transport);
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }
  uv_loop_t* loop() const { return loop_; }
  Transport transport() const { return transport_; }
  bool closing() const { return closing_; }
  uint64_t id() const { return id_; }

  // What the owner wants; while suspended, startReading() only takes note.
  void startReading();
  void stopReading();
  bool reading() const { return reading_; }
  // Reads what the socket already holds now, without waiting for the loop to report it
  // readable; call after startReading(). A client that has just been accepted has usually sent
  // its first packet with the handshake, so this saves one loop turn per connection (PgBouncer
  // reads right after accept too).
  void readAvailableNow();

  // SUSPEND: no byte is read, whatever the owner asks for, until resumeReading(); sends still
  // go out so queued answers can drain.
  void suspendReading();
  void resumeReading();
  bool readingSuspended() const { return suspended_; }

  // sbuf_loopcnt: how many full reads (each fills the shared 256 kB buffer) one connection
  // gets in a row before it waits for the next loop turn, so a client streaming a big result
  // to a fast consumer does not keep the loop from everyone else. 0: libuv's own cap (32).
  // Process-wide, like the read buffer; set at start and on RELOAD.
  static void setFullReadsPerTurn(int reads);

  // Sends bytes in order. What the kernel does not take now is copied and queued; returns
  // false if the connection is already closing or the write failed (the close is under way).
  bool send(std::string_view bytes);
  bool send(std::span<const uint8_t> bytes);
  size_t queuedBytes() const { return queued_bytes_; }

  // Closes the socket; onClosed() runs from libuv's close callback. Idempotent. A TLS
  // connection says close_notify first.
  void close();

  // From now on every byte is TLS: the handshake starts (as the TLS client, the ClientHello
  // goes out now). Bytes sent before the handshake ends are encrypted once it has. False with
  // `error` set if the session could not be made.
  bool startTls(std::shared_ptr<tls::Context> context, std::string_view peer_host,
                std::string& error);
  const tls::Session* tls() const { return tls_.get(); }

 protected:
  virtual void onRead(std::span<const uint8_t> data) = 0;
  virtual void onReadEnd(int status) = 0;  // UV_EOF or an error; the connection stays open
  virtual void onDrained() {}              // queued writes all reached the kernel
  virtual void onWriteFailed(int status) = 0;
  virtual void onClosed() = 0;  // the handle is gone; the owner may delete *this
  // The TLS session failed (handshake refused, bad record) or the peer closed it: reading
  // has stopped and what could be said (an alert) is on its way.
  virtual void onTlsFailed(const std::string& error) = 0;

 private:
  static void allocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void readCb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void writeCb(uv_write_t* req, int status);
  static void closeCb(uv_handle_t* h);
  bool queueWrite(const char* data, size_t len);
  bool sendRaw(std::string_view bytes);
  ssize_t sendNow(std::string_view bytes);
  void onEncryptedRead(std::span<const uint8_t> data);
  void countRead(ssize_t n);
  void yieldTurn();
  static void resumeYielded(uv_check_t* check);

  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  uv_loop_t* loop_;
  Transport transport_;
  uint64_t id_;
  std::unique_ptr<tls::Session> tls_;
  size_t queued_bytes_ = 0;
  bool reading_ = false;        // uv_read_start is in effect
  bool wants_reading_ = false;  // the owner's choice, restored by resumeReading()
  bool suspended_ = false;
  bool closing_ = false;
  bool yielded_ = false;    // read budget spent; reading resumes at the end of this turn
  uint8_t full_reads_ = 0;  // full reads in a row in this turn (see setFullReadsPerTurn)
};

}  // namespace apibouncer

// Socket I/O shared by clients and server links (see connection.h).
#include "pooler/connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace apibouncer {
namespace {

// The loop is single-threaded and every read is consumed inside its read callback, so one
// buffer serves all connections: an idle connection owns no read buffer at all.
constexpr size_t kSharedReadBufferSize = 256 * 1024;
char g_read_buffer[kSharedReadBufferSize];
uint64_t g_next_id = 1;
// TLS scratch, reused by every connection (single-threaded loop): what a read decrypted, and
// what the TLS engine wants on the wire. Nothing reads them across callbacks.
std::string g_tls_plain;
std::string g_tls_wire;

// sbuf_loopcnt (see setFullReadsPerTurn). A connection that has spent its reads for this turn
// stops reading and waits here; one check handle, which runs right after the loop's poll
// phase, starts them again, so the next poll serves every other ready socket first.
int g_full_reads_per_turn = 0;
std::vector<Connection*> g_yielded;
uv_check_t g_resume_check;
uv_loop_t* g_resume_loop = nullptr;

struct WriteRequest {
  uv_write_t req;
  Connection* owner;
  size_t len;
  char data[];
};

}  // namespace

Connection::Connection(uv_loop_t* loop, Transport transport)
    : loop_(loop), transport_(transport), id_(g_next_id++) {
  if (transport == Transport::kTcp) {
    uv_tcp_init(loop, &handle_.tcp);
  } else {
    uv_pipe_init(loop, &handle_.pipe, 0);
  }
  handle_.tcp.data = this;
}

void Connection::setFullReadsPerTurn(int reads) {
  // libuv itself reads a stream at most 32 times per turn, so more would change nothing.
  g_full_reads_per_turn = std::clamp(reads, 0, 32);
}

void Connection::startReading() {
  if (closing_) return;
  wants_reading_ = true;
  if (reading_ || suspended_ || yielded_) return;
  if (uv_read_start(stream(), allocCb, readCb) == 0) reading_ = true;
}

void Connection::stopReading() {
  wants_reading_ = false;
  full_reads_ = 0;
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void Connection::readAvailableNow() {
  if (!reading_ || tls_) return;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&handle_), &fd) != 0) return;
  ssize_t n;
  do {
    n = ::recv(fd, g_read_buffer, kSharedReadBufferSize, 0);
  } while (n < 0 && errno == EINTR);
  // Nothing there yet (EAGAIN) or an error: the loop's own read reports either.
  if (n < 0) return;
  uv_buf_t buf = uv_buf_init(g_read_buffer, kSharedReadBufferSize);
  readCb(stream(), n == 0 ? ssize_t{UV_EOF} : n, &buf);
}

void Connection::suspendReading() {
  suspended_ = true;
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void Connection::resumeReading() {
  if (!suspended_) return;
  suspended_ = false;
  if (wants_reading_) startReading();
}

bool Connection::send(std::span<const uint8_t> bytes) {
  return send(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool Connection::startTls(std::shared_ptr<tls::Context> context, std::string_view peer_host,
                          std::string& error) {
  tls_ = tls::Session::create(std::move(context), peer_host, &error);
  if (!tls_) return false;
  g_tls_wire.clear();
  tls_->start(g_tls_wire);
  return sendRaw(g_tls_wire);
}

bool Connection::send(std::string_view bytes) {
  if (!tls_) return sendRaw(bytes);
  if (closing_) return false;
  g_tls_wire.clear();
  if (tls_->send(bytes, g_tls_wire) != tls::Session::Status::kOk) {
    onTlsFailed(tls_->error());
    return false;
  }
  return sendRaw(g_tls_wire);
}

bool Connection::sendRaw(std::string_view bytes) {
  if (closing_) return false;
  if (bytes.empty()) return true;
  size_t offset = 0;
  if (queued_bytes_ == 0) {
    ssize_t n = sendNow(bytes);
    if (n >= 0)
      offset = static_cast<size_t>(n);
    else if (n != UV_EAGAIN) {
      onWriteFailed(static_cast<int>(n));
      return false;
    }
  }
  if (offset == bytes.size()) return true;
  return queueWrite(bytes.data() + offset, bytes.size() - offset);
}

// send(2) rather than libuv's write(2): on a socket, write goes through the VFS layer first
// (file position lock, permission and notify hooks), measurably more kernel time per call on
// the relay's hot path. Bytes sent, or a libuv error code (UV_EAGAIN: the socket is full or
// still connecting; libuv's write queue takes it from there).
ssize_t Connection::sendNow(std::string_view bytes) {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&handle_), &fd) != 0) return UV_EAGAIN;
  ssize_t n;
  do {
    n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return n;
  return errno == EWOULDBLOCK || errno == ENOTCONN ? UV_EAGAIN : -errno;
}

bool Connection::queueWrite(const char* data, size_t len) {
  auto* w = static_cast<WriteRequest*>(std::malloc(sizeof(WriteRequest) + len));
  if (w == nullptr) {
    onWriteFailed(UV_ENOMEM);
    return false;
  }
  w->owner = this;
  w->len = len;
  std::memcpy(w->data, data, len);
  uv_buf_t buf = uv_buf_init(w->data, len);
  int rc = uv_write(&w->req, stream(), &buf, 1, writeCb);
  if (rc != 0) {
    std::free(w);
    onWriteFailed(rc);
    return false;
  }
  queued_bytes_ += len;
  return true;
}

void Connection::close() {
  if (closing_) return;
  // Closing first: the TLS goodbye below fails to send when the peer is gone (it reset), and
  // a failed send would report back to the owner, whose disconnect would close us again.
  closing_ = true;
  if (tls_ && tls_->handshakeDone()) {
    g_tls_wire.clear();
    tls_->shutdown(g_tls_wire);
    // Best effort, and only when it is next in line: uv_close drops queued writes anyway.
    if (queued_bytes_ == 0 && !g_tls_wire.empty()) sendNow(g_tls_wire);
  }
  stopReading();
  if (yielded_) {
    std::erase(g_yielded, this);
    yielded_ = false;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), closeCb);
}

void Connection::allocCb(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(g_read_buffer, kSharedReadBufferSize);
}

void Connection::readCb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(s->data);
  if (n > 0) {
    std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(buf->base), n);
    if (self->tls_)
      self->onEncryptedRead(data);
    else
      self->onRead(data);
  } else if (n < 0) {
    self->stopReading();
    self->onReadEnd(static_cast<int>(n));
    return;
  }
  self->countRead(n);
}

// A read that did not fill the buffer (or found nothing, n == 0) ends libuv's reading of this
// socket for the turn, so the count starts again; a full one means more is waiting.
void Connection::countRead(ssize_t n) {
  if (static_cast<size_t>(n) != kSharedReadBufferSize) {
    full_reads_ = 0;
    return;
  }
  if (g_full_reads_per_turn == 0 || ++full_reads_ < g_full_reads_per_turn) return;
  full_reads_ = 0;
  if (reading_ && !closing_) yieldTurn();
}

void Connection::yieldTurn() {
  if (g_resume_loop == nullptr) {
    uv_check_init(loop_, &g_resume_check);
    // Waiting connections must not keep a loop alive that has nothing else to do.
    uv_unref(reinterpret_cast<uv_handle_t*>(&g_resume_check));
    g_resume_loop = loop_;
  }
  if (loop_ != g_resume_loop) return;  // the pooler runs one loop; any other is not capped
  uv_read_stop(stream());
  reading_ = false;
  yielded_ = true;
  if (g_yielded.empty()) uv_check_start(&g_resume_check, resumeYielded);
  g_yielded.push_back(this);
}

void Connection::resumeYielded(uv_check_t* check) {
  uv_check_stop(check);
  std::vector<Connection*> batch;
  batch.swap(g_yielded);
  // startReading() only arms the socket (no read happens here), so nothing joins g_yielded
  // while this runs; the bytes already waiting make the next poll return at once.
  for (Connection* connection : batch) {
    connection->yielded_ = false;
    if (connection->wants_reading_) connection->startReading();
  }
}

void Connection::onEncryptedRead(std::span<const uint8_t> data) {
  g_tls_plain.clear();
  g_tls_wire.clear();
  auto status = tls_->receive(data, g_tls_plain, g_tls_wire);
  sendRaw(g_tls_wire);
  // Plain bytes come first, also those that preceded a close_notify. onRead may send (and so
  // reuse g_tls_wire), but nothing decrypts until it returns.
  if (!g_tls_plain.empty() && !closing_ && status != tls::Session::Status::kError)
    onRead(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(g_tls_plain.data()),
                                    g_tls_plain.size()));
  if (status != tls::Session::Status::kOk && !closing_) {
    stopReading();
    onTlsFailed(status == tls::Session::Status::kClosed ? "TLS connection closed by peer"
                                                        : tls_->error());
  }
}

void Connection::writeCb(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteRequest*>(req);
  Connection* self = w->owner;
  self->queued_bytes_ -= w->len;
  std::free(w);
  if (self->closing_) return;
  if (status < 0) {
    self->onWriteFailed(status);
    return;
  }
  if (self->queued_bytes_ == 0) self->onDrained();
}

void Connection::closeCb(uv_handle_t* h) {
  static_cast<Connection*>(h->data)->onClosed();
}

}  // namespace apibouncer

// WriteLink: libpq's non-blocking connect and query driven by a uv_poll (see write_link.h and
// deps-notes §4: the socket may change during connect, so it is re-read after every poll).
#include "interceptor/write_link.h"

namespace apibouncer::interceptor {

WriteLink::WriteLink(uv_loop_t* loop, std::string conninfo)
    : loop_(loop), conninfo_(std::move(conninfo)) {}

// A cancel on the thread pool. The link may be deleted before it is done: it then clears
// `link`, and the work frees itself alone.
struct WriteLink::CancelWork {
  uv_work_t work;
  PGcancel* cancel = nullptr;
  WriteLink* link = nullptr;
};

WriteLink::~WriteLink() {
  if (cancel_ != nullptr) cancel_->link = nullptr;
  closePoll();  // before PQfinish, which closes the fd
  if (conn_ != nullptr) PQfinish(conn_);
}

void WriteLink::closePoll() {
  if (poll_ == nullptr) return;
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(poll_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
  poll_ = nullptr;
  fd_ = -1;
}

void WriteLink::watch(int events) {
  int fd = PQsocket(conn_);
  if (fd < 0) {
    fail("write link lost its socket");
    return;
  }
  if (fd != fd_) {
    closePoll();
    poll_ = new uv_poll_t;
    poll_->data = this;
    if (uv_poll_init_socket(loop_, poll_, fd) != 0) {
      delete poll_;
      poll_ = nullptr;
      fail("cannot watch the write link's socket");
      return;
    }
    fd_ = fd;
  }
  uv_poll_start(poll_, events, &WriteLink::onPoll);
}

void WriteLink::connect(Connected done) {
  connected_ = std::move(done);
  conn_ = PQconnectStart(conninfo_.c_str());
  if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
    fail(conn_ ? PQerrorMessage(conn_) : "out of memory");
    return;
  }
  connecting_ = true;
  watch(UV_WRITABLE);
}

void WriteLink::pollConnect() {
  switch (PQconnectPoll(conn_)) {
    case PGRES_POLLING_READING:
      watch(UV_READABLE);
      return;
    case PGRES_POLLING_WRITING:
      watch(UV_WRITABLE);
      return;
    case PGRES_POLLING_OK: {
      connecting_ = false;
      PQsetnonblocking(conn_, 1);
      // The server's NOTICEs to the writer ("... already exists, skipping") are nobody's
      // business; libpq would print them on stderr.
      PQsetNoticeProcessor(
          conn_, [](void*, const char*) {}, nullptr);
      uv_poll_stop(poll_);
      auto done = std::move(connected_);
      connected_ = nullptr;
      if (done) done(true, {});
      return;
    }
    default:
      fail(PQerrorMessage(conn_));
  }
}

void WriteLink::onPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<WriteLink*>(handle->data);
  if (self->connecting_) {
    self->pollConnect();  // an error status still needs PQconnectPoll to see it
    return;
  }
  if (status < 0) events = UV_READABLE;  // let libpq read the error
  self->pump(events);
}

namespace {

struct ParamPointers {
  std::vector<const char*> values;
  std::vector<int> lengths;
  explicit ParamPointers(const QueryParams& params) {
    for (const auto& value : params.values) {
      values.push_back(value ? value->data() : nullptr);
      lengths.push_back(value ? static_cast<int>(value->size()) : 0);
    }
  }
  int count() const { return static_cast<int>(values.size()); }
};

}  // namespace

// The senders own copies of what they send: a statement held behind a cancel is sent later.
void WriteLink::run(std::string sql, const QueryParams* params, int result_format, Done done) {
  if (params == nullptr) {
    send([this, sql = std::move(sql)] { return PQsendQuery(conn_, sql.c_str()); }, std::move(done));
    return;
  }
  send(
      [this, sql = std::move(sql), params = *params, result_format] {
        ParamPointers p(params);
        return PQsendQueryParams(conn_, sql.c_str(), p.count(), params.types.data(),
                                 p.values.data(), p.lengths.data(), params.formats.data(),
                                 result_format);
      },
      std::move(done));
}

void WriteLink::prepare(std::string sql, const QueryParams& params, Done done) {
  send(
      [this, sql = std::move(sql), types = params.types] {
        return PQsendPrepare(conn_, "", sql.c_str(), static_cast<int>(types.size()), types.data());
      },
      std::move(done));
}

void WriteLink::runPrepared(const QueryParams& params, int result_format, Done done) {
  send(
      [this, params, result_format] {
        ParamPointers p(params);
        return PQsendQueryPrepared(conn_, "", p.count(), p.values.data(), p.lengths.data(),
                                   params.formats.data(), result_format);
      },
      std::move(done));
}

void WriteLink::send(std::function<int()> sender, Done done) {
  if (cancel_ != nullptr) {
    held_statement_ = [this, sender = std::move(sender), done = std::move(done)]() mutable {
      send(std::move(sender), std::move(done));
    };
    return;
  }
  awaitResults(sender(), std::move(done));
}

void WriteLink::cancelStatement() {
  if (!busy() || cancel_ != nullptr || conn_ == nullptr) return;
  PGcancel* cancel = PQgetCancel(conn_);
  if (cancel == nullptr) return;
  cancel_ = new CancelWork;
  cancel_->cancel = cancel;
  cancel_->link = this;
  cancel_->work.data = cancel_;
  int queued = uv_queue_work(
      loop_, &cancel_->work,
      [](uv_work_t* work) {
        auto* job = static_cast<CancelWork*>(work->data);
        char error[256];
        PQcancel(job->cancel, error, sizeof error);  // failing: the statement just runs on
      },
      [](uv_work_t* work, int) {
        auto* job = static_cast<CancelWork*>(work->data);
        PQfreeCancel(job->cancel);
        WriteLink* link = job->link;
        delete job;
        if (link != nullptr) link->onCancelSent();
      });
  if (queued != 0) {
    PQfreeCancel(cancel);
    delete cancel_;
    cancel_ = nullptr;
  }
}

void WriteLink::onCancelSent() {
  cancel_ = nullptr;
  auto held = std::move(held_statement_);
  held_statement_ = nullptr;
  if (held) held();
}

void WriteLink::awaitResults(int sent, Done done) {
  done_ = std::move(done);
  result_.reset();
  if (!sent) {
    fail(PQerrorMessage(conn_));
    return;
  }
  watch(UV_READABLE | UV_WRITABLE);
}

void WriteLink::pump(int events) {
  if (done_ == nullptr) {
    // Between statements: only a server notice or the server going away can arrive.
    if (!PQconsumeInput(conn_)) fail(PQerrorMessage(conn_));
    return;
  }
  if (events & UV_WRITABLE) {
    int flushed = PQflush(conn_);
    if (flushed < 0) {
      fail(PQerrorMessage(conn_));
      return;
    }
    if (flushed == 0) watch(UV_READABLE);
  }
  if (!(events & UV_READABLE)) return;
  if (!PQconsumeInput(conn_)) {
    fail(PQerrorMessage(conn_));
    return;
  }
  while (!PQisBusy(conn_)) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) {
      auto done = std::move(done_);
      done_ = nullptr;
      watch(UV_READABLE);  // keep noticing a server that goes away while idle
      done(std::move(result_), {});
      return;
    }
    bool is_error = PQresultStatus(result) == PGRES_FATAL_ERROR;
    bool have_error = result_ && PQresultStatus(result_.get()) == PGRES_FATAL_ERROR;
    if (have_error && !is_error)
      PQclear(result);
    else
      result_.reset(result);
  }
}

void WriteLink::fail(const std::string& error) {
  broken_ = true;
  connecting_ = false;
  closePoll();
  // Take both callbacks first: either may delete this link.
  auto connected = std::move(connected_);
  auto done = std::move(done_);
  connected_ = nullptr;
  done_ = nullptr;
  if (connected)
    connected(false, error);
  else if (done)
    done(nullptr, error.empty() ? "write link failed" : error);
}

void deleteSoon(uv_loop_t* loop, WriteLink* link) {
  auto* idle = new uv_idle_t;
  idle->data = link;
  uv_idle_init(loop, idle);
  uv_idle_start(idle, [](uv_idle_t* handle) {
    delete static_cast<WriteLink*>(handle->data);
    uv_idle_stop(handle);
    uv_close(reinterpret_cast<uv_handle_t*>(handle),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  });
}

}  // namespace apibouncer::interceptor

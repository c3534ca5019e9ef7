// runOnLargeStack (see large_stack.h): uv_thread_create_ex with UV_THREAD_HAS_STACK_SIZE.
#include "interceptor/large_stack.h"

#include <uv.h>

namespace apibouncer::interceptor {

void runOnLargeStack(size_t sql_size, const std::function<void()>& work) {
  if (sql_size < kSmallStatementBytes) {
    work();
    return;
  }
  uv_thread_options_t options;
  options.flags = UV_THREAD_HAS_STACK_SIZE;
  options.stack_size = kLargeStackBytes;
  uv_thread_t thread;
  auto run = [](void* arg) { (*static_cast<const std::function<void()>*>(arg))(); };
  if (uv_thread_create_ex(&thread, &options, run, const_cast<std::function<void()>*>(&work)) != 0) {
    work();
    return;
  }
  uv_thread_join(&thread);
}

}  // namespace apibouncer::interceptor

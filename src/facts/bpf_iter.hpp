#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tw {

// Reads a BPF iterator's fd (bpf_iter_create) to its end and calls each with every whole record
// of record_size bytes, in order (a read may end inside a record: the rest comes with the next
// one). Returns "" or what went wrong, naming the iterator as `what` ("the TCP iterator").
std::string read_iter_records(int iter_fd,
                              std::size_t record_size,
                              std::string_view what,
                              const std::function<void(const void* record)>& each);

} // namespace tw

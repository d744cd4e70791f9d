// Atomic file writes: readers see the old file or the new one, never a torn one.
#pragma once
#include <string>

namespace inflab::util {

// Writes `bytes` to path + ".tmp-" + pid, then renames it over `path`. Errors name the path.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The second half of it, for files written by another writer (e.g. xt::dump_npy) to `tmp`:
// renames `tmp` over `path`; on failure removes `tmp` and throws an Error naming both.
void rename_into_place(const std::string& tmp, const std::string& path);

// The temporary name write_file_atomic uses for `path` (path + ".tmp-" + pid).
std::string temp_name_for(const std::string& path);

}  // namespace inflab::util

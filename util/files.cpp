#include "util/files.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "util/error.hpp"

namespace inflab::util {

std::string temp_name_for(const std::string& path) { return path + ".tmp-" + std::to_string(getpid()); }

void rename_into_place(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) == 0) return;
  const std::string why = std::strerror(errno);
  std::remove(tmp.c_str());
  throw Error("cannot write '" + path + "': renaming '" + tmp + "' into place failed (" + why + ")");
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = temp_name_for(path);
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    if (!out) throw Error("cannot write '" + path + "': cannot create '" + tmp + "' (" + std::strerror(errno) + ")");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw Error("cannot write '" + path + "': writing '" + tmp + "' failed (disk full?)");
    }
  }
  rename_into_place(tmp, path);
}

}  // namespace inflab::util

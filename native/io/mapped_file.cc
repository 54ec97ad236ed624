// mapFile(path): the whole file mapped read-only and shared (MAP_SHARED, so every process that maps it reads the
// same page-cache pages), handed to JS as an external ArrayBuffer that unmaps when it is collected. Deliberately
// free of LibTorch: nothing here needs tensors, and the file compiles in a second.
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace xkt {
namespace {

struct Mapping {
  void* data;
  size_t length;
};

Napi::Value mapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "mapFile: argument 'path' must be a file path string");
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, "mapFile: cannot open '" + path + "': " + std::strerror(errno));
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    const int e = errno;
    ::close(fd);
    throw Napi::Error::New(env, "mapFile: cannot stat '" + path + "': " + std::strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    ::close(fd);
    throw Napi::Error::New(env, "mapFile: '" + path + "' is not a regular file");
  }
  const size_t length = static_cast<size_t>(sb.st_size);
  if (length == 0) {
    ::close(fd);
    return Napi::ArrayBuffer::New(env, 0);
  }
  void* data = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  const int e = errno;
  // The mapping keeps the file's pages; the descriptor is not needed once it exists.
  ::close(fd);
  if (data == MAP_FAILED) throw Napi::Error::New(env, "mapFile: cannot map '" + path + "': " + std::strerror(e));
  // No access advice: the token store's index is read front to back when a run plans its batches, which is
  // what the kernel's default read-ahead serves best on a cold cache.
  auto* mapping = new Mapping{data, length};
  return Napi::ArrayBuffer::New(
      env, data, length,
      [](Napi::Env, void*, Mapping* m) {
        ::munmap(m->data, m->length);
        delete m;
      },
      mapping);
}

}  // namespace

void registerMappedFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, mapFile, "mapFile"));
}

}  // namespace xkt

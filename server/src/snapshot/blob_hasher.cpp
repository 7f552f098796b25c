#include "snapshot/blob_hasher.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "snapshot/content.h"
#include "snapshot/git.h"

namespace studyhub::snapshot {

namespace {

bool read_all(int fd, std::string& out, size_t size) {
  out.resize(size);
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, out.data() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return true;
}

void hash_one(git_odb* odb, const std::filesystem::path& root, HashedFile& f, std::string& buffer) {
  std::string full = (root / f.path).string();
  if (::lstat(full.c_str(), &f.st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) f.vanished = true;
    else f.error = std::strerror(errno);
    return;
  }
  if (S_ISLNK(f.st.st_mode)) {
    buffer.resize(static_cast<size_t>(f.st.st_size) + 1);
    ssize_t n = ::readlink(full.c_str(), buffer.data(), buffer.size());
    if (n < 0) {
      f.error = std::strerror(errno);
      return;
    }
    buffer.resize(static_cast<size_t>(n));
  } else {
    int fd = ::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) f.vanished = true;
      else f.error = std::strerror(errno);
      return;
    }
    ::fstat(fd, &f.st);
    read_all(fd, buffer, static_cast<size_t>(f.st.st_size));
    ::close(fd);
    // Whatever size was read is what the blob holds; a size mismatch makes the next diff re-check.
    f.binary = is_binary(buffer.data(), buffer.size());
  }
  if (git_odb_write(&f.id, odb, buffer.data(), buffer.size(), GIT_OBJECT_BLOB) != 0)
    f.error = git::failure("cannot store the file").message;
}

}  // namespace

std::vector<HashedFile> hash_files(const std::filesystem::path& objects_dir, const std::filesystem::path& root,
                                   const std::vector<std::string>& paths, std::stop_token stop,
                                   const std::function<void(size_t)>& progress) {
  std::vector<HashedFile> files(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) files[i].path = paths[i];
  std::atomic<size_t> next{0}, done{0};

  auto work = [&](bool reports) {
    git_odb* odb = nullptr;  // one handle per thread: nothing shared but the files on disk
    if (git_odb_open(&odb, objects_dir.c_str()) != 0) {
      for (size_t i; (i = next.fetch_add(1)) < files.size();) files[i].error = git::failure("cannot open the object store").message;
      return;
    }
    std::string buffer;
    for (size_t i; !stop.stop_requested() && (i = next.fetch_add(1)) < files.size();) {
      hash_one(odb, root, files[i], buffer);
      size_t d = done.fetch_add(1) + 1;
      if (reports && progress && d % 128 == 0) progress(d);
    }
    git_odb_free(odb);
  };

  unsigned extra = paths.size() < 64 ? 0 : std::clamp(std::thread::hardware_concurrency(), 1u, 8u) - 1;
  std::vector<std::jthread> helpers;
  for (unsigned t = 0; t < extra; ++t) helpers.emplace_back([&] { work(false); });
  work(true);
  helpers.clear();  // joins
  return files;
}

git_index_entry index_entry_for(const HashedFile& f) {
  git_index_entry e{};
  // The fields and conventions of libgit2's own git_index_entry__init_from_stat.
  e.ctime.seconds = static_cast<int32_t>(f.st.st_ctim.tv_sec);
  e.ctime.nanoseconds = static_cast<uint32_t>(f.st.st_ctim.tv_nsec);
  e.mtime.seconds = static_cast<int32_t>(f.st.st_mtim.tv_sec);
  e.mtime.nanoseconds = static_cast<uint32_t>(f.st.st_mtim.tv_nsec);
  e.dev = static_cast<uint32_t>(f.st.st_rdev);
  e.ino = static_cast<uint32_t>(f.st.st_ino);
  e.mode = S_ISLNK(f.st.st_mode) ? GIT_FILEMODE_LINK
           : (f.st.st_mode & S_IXUSR) ? GIT_FILEMODE_BLOB_EXECUTABLE
                                      : GIT_FILEMODE_BLOB;
  e.uid = f.st.st_uid;
  e.gid = f.st.st_gid;
  e.file_size = static_cast<uint32_t>(f.st.st_size);
  e.id = f.id;
  e.path = f.path.c_str();
  return e;
}

}  // namespace studyhub::snapshot

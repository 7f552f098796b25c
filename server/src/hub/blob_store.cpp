#include "hub/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "core/file_io.h"
#include "core/relpath.h"
#include "core/text.h"
#include "snapshot/content.h"
#include "snapshot/git.h"

namespace studyhub::hub {

namespace fs = std::filesystem;

bool is_oid(std::string_view text) {
  return text.size() == 40 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string path_problem(std::string_view path) {
  if (auto problem = relpath::problem(path); !problem.empty()) return problem;
  if (relpath::has_part(path, ".git")) return "has a '.git' part";
  return {};
}

namespace {

Result<git::Odb> open_odb(const fs::path& objects) {
  git::init_once();
  git_odb* raw = nullptr;
  if (git_odb_open(&raw, objects.c_str()) != 0) return git::failure("cannot open the blob store " + objects.string());
  return git::Odb(raw);
}

bool parse_oid(const std::string& text, git_oid& out) { return is_oid(text) && git_oid_fromstr(&out, text.c_str()) == 0; }

// A folder of the tree being built: sub-folders and the entries of this level.
struct Dir {
  std::map<std::string, Dir> dirs;
  std::vector<std::tuple<std::string, git_oid, git_filemode_t>> entries;
};

Result<git_oid> write_dir(git_repository* repo, const Dir& dir) {
  git_treebuilder* raw = nullptr;
  if (git_treebuilder_new(&raw, repo, nullptr) != 0) return git::failure("cannot build a tree");
  git::TreeBuilder builder(raw);
  for (const auto& [name, sub] : dir.dirs) {
    auto id = write_dir(repo, sub);
    if (!id) return id.error();
    if (git_treebuilder_insert(nullptr, raw, name.c_str(), &id.value(), GIT_FILEMODE_TREE) != 0)
      return git::failure("cannot add the folder " + name + " to the tree");
  }
  for (const auto& [name, id, mode] : dir.entries)
    if (git_treebuilder_insert(nullptr, raw, name.c_str(), &id, mode) != 0)
      return git::failure("cannot add " + name + " to the tree");
  git_oid out;
  if (git_treebuilder_write(&out, raw) != 0) return git::failure("cannot write a tree");
  return out;
}

Error invalid(std::string message) { return Error{std::move(message), false, "files.invalid"}; }

// The id `root` would have as a git tree, from an object database in memory: nothing is read
// from or written to the store.
Result<git_oid> tree_id_in_memory(const Dir& root) {
  git_odb* raw_odb = nullptr;
  git_odb_backend* memory = nullptr;
  if (git_odb_new(&raw_odb) != 0) return git::failure("cannot make an object database in memory");
  git::Odb odb(raw_odb);
  if (git_mempack_new(&memory) != 0 || git_odb_add_backend(raw_odb, memory, 1) != 0)
    return git::failure("cannot make an object database in memory");
  git_repository* raw_repo = nullptr;
  if (git_repository_wrap_odb(&raw_repo, raw_odb) != 0) return git::failure("cannot make a repository in memory");
  git::Repository repo(raw_repo);
  return write_dir(repo.get(), root);
}

}  // namespace

Result<BlobStore> BlobStore::open(const fs::path& data_dir) {
  git::init_once();
  // write_tree reads every blob's header before a tree names it; libgit2's own check of each
  // entry (an access() per file) would only repeat that, and it refuses the in-memory trees.
  git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
  fs::path repo = data_dir / "blobs.git";
  std::error_code ec;
  if (!fs::exists(repo / "objects", ec)) {
    git_repository* raw = nullptr;
    if (git_repository_init(&raw, repo.c_str(), /*is_bare=*/1) != 0)
      return git::failure("cannot create the blob store " + repo.string());
    git_repository_free(raw);
  }
  // Every user's uploads, published or not: the hub user's alone.
  ::chmod(repo.c_str(), 0700);
  return BlobStore(repo);
}

bool BlobStore::has(const std::string& oid) const { return missing({oid}).empty(); }

std::vector<std::string> BlobStore::missing(const std::vector<std::string>& oids) const {
  std::vector<std::string> out;
  auto odb = open_odb(objects_dir());
  for (const auto& oid : oids) {
    git_oid id;
    if (!odb || !parse_oid(oid, id) || !git_odb_exists(odb->get(), &id)) out.push_back(oid);
  }
  return out;
}

namespace {

Error mismatch(uint64_t size, const git_oid& actual, const std::string& oid) {
  return Error{"the " + human_bytes(size) + " sent are the blob " + git::hex(actual) + ", not " + oid +
                   "; the file changed while it was sent, or the upload was corrupted: send it again",
               false, "blob.mismatch"};
}

Error not_an_oid(const std::string& oid) {
  return Error{"'" + oid + "' is not a blob id (40 lowercase hex digits)", false, "request.parse"};
}

}  // namespace

Result<BlobStore::Put> BlobStore::put(const std::string& oid, std::string_view bytes) const {
  git_oid expected, actual;
  if (!parse_oid(oid, expected)) return not_an_oid(oid);
  git_odb_hash(&actual, bytes.data(), bytes.size(), GIT_OBJECT_BLOB);
  if (!git_oid_equal(&expected, &actual)) return mismatch(bytes.size(), actual, oid);
  auto odb = open_odb(objects_dir());
  if (!odb) return odb.error();
  if (git_odb_exists(odb->get(), &expected)) return Put::known;
  git_oid written;
  if (git_odb_write(&written, odb->get(), bytes.data(), bytes.size(), GIT_OBJECT_BLOB) != 0)
    return Error{git::failure("cannot store the blob " + oid).message, false, "io"};
  return Put::stored;
}

Result<BlobStore::Put> BlobStore::put_file(const std::string& oid, const fs::path& file) const {
  git_oid expected, actual;
  if (!parse_oid(oid, expected)) return not_an_oid(oid);
  std::error_code ec;
  uint64_t size = fs::file_size(file, ec);
  if (ec) return Error{"the upload was lost before it was stored: " + ec.message(), false, "io"};
  if (git_odb_hashfile(&actual, file.c_str(), GIT_OBJECT_BLOB) != 0)
    return Error{git::failure("cannot read the upload").message, false, "io"};
  if (!git_oid_equal(&expected, &actual)) return mismatch(size, actual, oid);
  auto odb = open_odb(objects_dir());
  if (!odb) return odb.error();
  if (git_odb_exists(odb->get(), &expected)) return Put::known;
  // Streamed through zlib into the store: a 50 MB blob never sits in memory whole.
  git_odb_stream* raw = nullptr;
  if (git_odb_open_wstream(&raw, odb->get(), size, GIT_OBJECT_BLOB) != 0)
    return Error{git::failure("cannot store the blob " + oid).message, false, "io"};
  std::unique_ptr<git_odb_stream, void (*)(git_odb_stream*)> stream(raw, git_odb_stream_free);
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"the upload was lost before it was stored", false, "io"};
  std::vector<char> buffer(256 * 1024);
  bool failed = false;
  for (ssize_t n; (n = ::read(fd, buffer.data(), buffer.size())) != 0;) {
    if (n < 0 || git_odb_stream_write(raw, buffer.data(), static_cast<size_t>(n)) != 0) {
      failed = true;
      break;
    }
  }
  ::close(fd);
  git_oid written;
  if (failed || git_odb_stream_finalize_write(&written, raw) != 0)
    return Error{git::failure("cannot store the blob " + oid).message, false, "io"};
  return Put::stored;
}

namespace {

// The list itself, in memory, as folders of entries: paths, modes, ids, repeats, and a name that is
// both a file and a folder are checked; nothing is read from the store.
Result<Dir> tree_of(const std::vector<ManifestFile>& files) {
  Dir root;
  std::set<std::string> seen;
  for (const ManifestFile& f : files) {
    git_oid id;
    if (auto problem = path_problem(f.path); !problem.empty())
      return invalid("the path '" + f.path.substr(0, 200) + "' " + problem);
    if (f.mode != 0100644 && f.mode != 0100755 && f.mode != 0120000)
      return invalid(f.path + " has the mode " + std::to_string(f.mode) + "; use \"100644\", \"100755\" or \"120000\"");
    if (!parse_oid(f.oid, id)) return invalid(f.path + " has no valid blob id");
    if (!seen.insert(f.path).second) return invalid(f.path + " is listed twice");
    Dir* dir = &root;  // every part but the last is a folder
    size_t start = 0;
    for (size_t slash; (slash = f.path.find('/', start)) != std::string::npos; start = slash + 1)
      dir = &dir->dirs[f.path.substr(start, slash - start)];
    dir->entries.emplace_back(f.path.substr(start), id, static_cast<git_filemode_t>(f.mode));
  }
  std::vector<std::pair<const Dir*, std::string>> stack{{&root, ""}};
  while (!stack.empty()) {
    auto [dir, prefix] = stack.back();
    stack.pop_back();
    for (const auto& [name, id, mode] : dir->entries)
      if (dir->dirs.count(name)) return invalid(prefix + name + " is both a file and a folder");
    for (const auto& [name, sub] : dir->dirs) stack.emplace_back(&sub, prefix + name + "/");
  }
  return root;
}

Error file_too_large(const std::string& what, uint64_t size, const Limits& limits) {
  return Error{what + " is " + human_bytes(size) + ", over this hub's limit of " + human_bytes(limits.max_file_bytes) + " a file",
               false, "limits.file"};
}

Error deployment_too_large(const Limits& limits) {
  return Error{"the deployment is over this hub's limit of " + human_bytes(limits.max_deployment_bytes), false,
               "limits.deployment"};
}

}  // namespace

Result<BlobStore::Tree> BlobStore::write_tree(const std::vector<ManifestFile>& files, const Limits& limits,
                                              const std::string& expected_id) const {
  if (files.size() > limits.max_files)
    return Error{"the deployment has " + std::to_string(files.size()) + " files, over this hub's limit of " +
                     std::to_string(limits.max_files),
                 false, "limits.files"};
  auto root = tree_of(files);
  if (!root) return root.error();
  // A tree this store verified before (every blob read and measured, links checked) needs only
  // the proof that the list makes it: its id, computed in memory. A re-publish of 10,000 unchanged
  // files then costs no read of 10,000 objects.
  if (!expected_id.empty() && is_oid(expected_id))
    if (auto known = verified_tree(expected_id)) {
      auto id = tree_id_in_memory(root.value());
      if (!id) return id.error();
      Tree tree{.id = git::hex(id.value()), .files = files.size(), .bytes = known->bytes};
      if (tree.id != expected_id) return tree;  // the caller says the list and the id differ
      if (known->largest > limits.max_file_bytes) return file_too_large("a file of this deployment", known->largest, limits);
      if (known->bytes > limits.max_deployment_bytes) return deployment_too_large(limits);
      return tree;
    }
  auto checked = check_blobs(files, limits);
  if (!checked) return checked.error();
  git_repository* raw_repo = nullptr;
  if (git_repository_open_bare(&raw_repo, repo_.c_str()) != 0) return git::failure("cannot open the blob store");
  git::Repository repo(raw_repo);
  auto id = write_dir(repo.get(), root.value());
  if (!id) return id.error();
  Tree tree{.id = git::hex(id.value()), .files = files.size(), .bytes = checked->bytes};
  remember_verified(tree.id, checked.value());
  return tree;
}

// Every blob stored and within the limits; links followed through each other, as the kernel
// would, and none leading out of the folder.
Result<BlobStore::Verified> BlobStore::check_blobs(const std::vector<ManifestFile>& files, const Limits& limits) const {
  auto odb = open_odb(objects_dir());
  if (!odb) return odb.error();
  Verified v;
  relpath::LinkTree links;
  for (const ManifestFile& f : files) {
    git_oid id;
    size_t size = 0;
    git_object_t type;
    if (!parse_oid(f.oid, id) || git_odb_read_header(&size, &type, odb->get(), &id) != 0 || type != GIT_OBJECT_BLOB)
      return Error{f.path + ": its blob " + f.oid + " is not stored; upload it first", false, "blobs.missing"};
    if (size > limits.max_file_bytes) return file_too_large(f.path, size, limits);
    v.largest = std::max<uint64_t>(v.largest, size);
    v.bytes += size;
    if (v.bytes > limits.max_deployment_bytes) return deployment_too_large(limits);
    if (f.mode == 0120000) {
      auto target = read(f.oid);
      if (!target) return target.error();
      links[f.path] = {relpath::Entry::Kind::link, std::move(target.value())};
    }
  }
  if (links.empty()) return v;
  for (const auto& f : files)
    if (f.mode != 0120000) links[f.path] = {relpath::Entry::Kind::file, {}};
  if (auto bad = relpath::first_escaping_link(links))
    return Error{bad->path + " is a link that " + bad->resolution.why() + "; links must stay inside the sandbox folder",
                 false, "files.link"};
  return v;
}

// <data>/blobs.git/verified/<tree id>: "<bytes> <largest file>", written after a full check.
std::optional<BlobStore::Verified> BlobStore::verified_tree(const std::string& tree_id) const {
  auto text = read_file(repo_ / "verified" / tree_id);
  if (!text) return std::nullopt;
  Verified v;
  if (std::sscanf(text->c_str(), "%" SCNu64 " %" SCNu64, &v.bytes, &v.largest) != 2) return std::nullopt;
  // The record is only a shortcut: the tree must still be in the store.
  git_oid id;
  auto odb = open_odb(objects_dir());
  if (!odb || !parse_oid(tree_id, id) || !git_odb_exists(odb->get(), &id)) return std::nullopt;
  return v;
}

void BlobStore::remember_verified(const std::string& tree_id, Verified v) const {
  std::error_code ec;
  fs::create_directories(repo_ / "verified", ec);
  write_file_atomic(repo_ / "verified" / tree_id, std::to_string(v.bytes) + " " + std::to_string(v.largest) + "\n");
}



Result<std::string> BlobStore::read(const std::string& oid) const {
  git_oid id;
  if (!parse_oid(oid, id)) return Error{"not a blob id: " + oid};
  auto odb = open_odb(objects_dir());
  if (!odb) return odb.error();
  git_odb_object* raw = nullptr;
  if (git_odb_read(&raw, odb->get(), &id) != 0) return git::failure("cannot read the blob " + oid);
  git::OdbObject obj(raw);
  return std::string(static_cast<const char*>(git_odb_object_data(raw)), git_odb_object_size(raw));
}

Result<snapshot::Snapshot> BlobStore::read_snapshot(const std::string& tree_id) const {
  git_oid id;
  if (!parse_oid(tree_id, id)) return Error{"not a tree id: " + tree_id};
  git_repository* raw_repo = nullptr;
  if (git_repository_open_bare(&raw_repo, repo_.c_str()) != 0) return git::failure("cannot open the blob store");
  git::Repository repo(raw_repo);
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo.get(), &id) != 0) return git::failure("cannot read the snapshot " + tree_id);
  git::Tree tree(raw_tree);
  git_odb* raw_odb = nullptr;
  if (git_repository_odb(&raw_odb, repo.get()) != 0) return git::failure("cannot open the blob store");
  git::Odb odb(raw_odb);

  snapshot::Snapshot snap;
  snap.id = tree_id;
  struct Walk {
    snapshot::Snapshot* snap;
    git_odb* odb;
    bool failed = false;
  } walk{&snap, odb.get()};
  git_tree_walk(
      tree.get(), GIT_TREEWALK_PRE,
      [](const char* root, const git_tree_entry* entry, void* payload) -> int {
        auto* w = static_cast<Walk*>(payload);
        git_filemode_t mode = git_tree_entry_filemode(entry);
        if (mode == GIT_FILEMODE_TREE) return 0;
        snapshot::SnapshotFile f;
        f.path = std::string(root) + git_tree_entry_name(entry);
        f.mode = static_cast<uint32_t>(mode);
        f.blob = git::hex(*git_tree_entry_id(entry));
        size_t size = 0;
        git_object_t type;
        if (git_odb_read_header(&size, &type, w->odb, git_tree_entry_id(entry)) != 0) {
          w->failed = true;
          return -1;
        }
        f.size = size;
        w->snap->bytes += size;
        w->snap->files.push_back(std::move(f));
        return 0;
      },
      &walk);
  if (walk.failed) return Error{"the snapshot " + tree_id + " refers to a blob the store lost"};
  std::sort(snap.files.begin(), snap.files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return snap;
}

}  // namespace studyhub::hub

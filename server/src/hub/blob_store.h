// The hub's content-addressed store: a bare git repository, <data>/blobs.git. Clients upload
// blobs under their git ids (sha1 of "blob <size>\0" + bytes), so what a snapshot already holds is
// never hashed twice, and the payload builder reads them exactly as it reads the shadow repository
// of a local publish. A deployment's file list becomes a git tree here; its id must be the
// snapshot id the client computed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "snapshot/snapshot.h"

namespace studyhub::hub {

struct ManifestFile {
  std::string path;  // '/'-separated, relative
  std::string oid;   // 40 hex digits
  uint32_t mode = 0100644;
};

struct Limits {
  uint64_t max_file_bytes = 50ull << 20;
  uint64_t max_files = 20'000;
  uint64_t max_deployment_bytes = 500ull << 20;
};

class BlobStore {
 public:
  // Creates <data>/blobs.git when missing (safe when several hubs do it at once).
  static Result<BlobStore> open(const std::filesystem::path& data_dir);

  std::filesystem::path objects_dir() const { return repo_ / "objects"; }

  std::vector<std::string> missing(const std::vector<std::string>& oids) const;  // the ones not stored
  bool has(const std::string& oid) const;

  enum class Put { stored, known };
  // Verifies that the bytes are the blob `oid`; fails with code "blob.mismatch" when they are not.
  Result<Put> put(const std::string& oid, std::string_view bytes) const;
  // The same for bytes waiting in a file (an upload spooled to disk), read in pieces.
  Result<Put> put_file(const std::string& oid, const std::filesystem::path& file) const;

  // Checks a deployment's file list (paths, modes, ids, limits; every blob stored, links kept
  // inside the folder), writes its tree and answers the tree id. Errors carry the API's codes:
  // files.invalid, blobs.missing (message lists none; see missing()), limits.files,
  // limits.file, limits.deployment.
  struct Tree {
    std::string id;
    uint64_t files = 0, bytes = 0;
  };
  // With `expected_id` (the snapshot id the client names) a tree this store checked before is
  // recognised by computing the list's tree id in memory, without reading its blobs again.
  Result<Tree> write_tree(const std::vector<ManifestFile>& files, const Limits& limits,
                          const std::string& expected_id = {}) const;

  // The files of a stored tree, as a snapshot (sorted by path) for the payload builder.
  Result<snapshot::Snapshot> read_snapshot(const std::string& tree_id) const;

  // A stored blob's bytes.
  Result<std::string> read(const std::string& oid) const;

 private:
  struct Verified {
    uint64_t bytes = 0, largest = 0;
  };
  std::optional<Verified> verified_tree(const std::string& tree_id) const;
  Result<Verified> check_blobs(const std::vector<ManifestFile>& files, const Limits& limits) const;
  void remember_verified(const std::string& tree_id, Verified v) const;

  explicit BlobStore(std::filesystem::path repo) : repo_(std::move(repo)) {}
  std::filesystem::path repo_;
};

bool is_oid(std::string_view text);  // 40 lowercase hex digits

// Why a manifest path cannot be stored, or "" when it can: absolute, empty parts, ".", "..",
// ".git", backslashes, NUL, line breaks, over 4096 bytes.
std::string path_problem(std::string_view path);

}  // namespace studyhub::hub

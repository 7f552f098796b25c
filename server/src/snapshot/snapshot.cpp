#include "snapshot/snapshot.h"

#include "core/text.h"


#include <algorithm>
#include <boost/uuid/detail/sha1.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/file_io.h"
#include "core/relpath.h"
#include "core/file_lock.h"
#include "snapshot/blob_hasher.h"
#include "snapshot/content.h"
#include "snapshot/fast_cache.h"
#include "snapshot/git.h"
#include "snapshot/ignore_rules.h"

namespace studyhub::snapshot {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path shadow_repo_path(const fs::path& state_dir) { return state_dir / "shadow.git"; }

std::string folder_key(const fs::path& canonical_folder) {
  // git's blob id of the path, as the key always was; computed with Boost's SHA-1 so that a
  // snapshot whose stat cache proves nothing changed never loads libgit2 (~6 ms with its 17
  // libraries).
  std::string p = canonical_folder.string();
  std::string header = "blob " + std::to_string(p.size());
  boost::uuids::detail::sha1 sha;
  sha.process_bytes(header.data(), header.size() + 1);  // with its NUL
  sha.process_bytes(p.data(), p.size());
  boost::uuids::detail::sha1::digest_type words;
  sha.get_digest(words);
  char hex[41];
  for (int i = 0; i < 5; ++i) std::snprintf(hex + 8 * i, 9, "%08x", static_cast<unsigned>(words[i]));
  return std::string(hex, 40);
}

namespace {

// ---------------------------------------------------------------- where the folder sits

struct Location {
  fs::path folder;     // canonical
  fs::path root;       // the work root handed to libgit2
  std::string prefix;  // folder relative to root; empty when they are the same
  std::string info_exclude;  // the user's .git/info/exclude, relative to root
  fs::path info_exclude_path;
  bool has_git_dir = false;  // the folder itself holds a .git
};

// `folder` is canonical and known to be a directory (run() checked both).
Location locate(const fs::path& folder) {
  std::error_code ec;
  Location loc;
  loc.folder = folder;
  loc.root = folder;
  loc.has_git_dir = fs::exists(folder / ".git", ec);

  git_buf found = GIT_BUF_INIT;
  if (git_repository_discover(&found, folder.c_str(), 0, nullptr) == 0) {
    git_repository* raw = nullptr;
    // Opening only reads the user's repository; nothing in it is written.
    if (git_repository_open_ext(&raw, found.ptr, GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) == 0) {
      git::Repository user(raw);
      if (const char* workdir = git_repository_workdir(user.get())) {
        fs::path root = fs::canonical(workdir, ec);
        std::string rel = ec ? std::string("..") : folder.lexically_relative(root).generic_string();
        if (!ec && rel != ".." && !rel.starts_with("../")) {
          loc.root = root;
          loc.prefix = rel == "." ? "" : rel;
          loc.info_exclude_path = fs::path(git_repository_commondir(user.get())) / "info" / "exclude";
          loc.info_exclude = read_file_or_empty(loc.info_exclude_path);
        }
      }
    }
    git_buf_dispose(&found);
  }
  git_error_clear();
  return loc;
}

// The .gitignore files between the work root and the folder (the folder's own excluded: a diff
// shows it changing). Empty when the folder is the work root.
std::vector<fs::path> ancestor_gitignores(const Location& loc) {
  std::vector<fs::path> out;
  if (loc.prefix.empty()) return out;
  fs::path dir = loc.root;
  out.push_back(dir / ".gitignore");
  fs::path prefix(loc.prefix);
  for (auto part = prefix.begin(); part != prefix.end() && std::next(part) != prefix.end(); ++part) {
    dir /= *part;
    out.push_back(dir / ".gitignore");
  }
  return out;
}

bool is_gitignore(std::string_view path) { return path == ".gitignore" || path.ends_with("/.gitignore"); }

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------- the shadow repository

Result<git::Repository> open_shadow(const fs::path& state_dir) {
  fs::path path = shadow_repo_path(state_dir);
  git_repository* raw = nullptr;
  if (git_repository_open_bare(&raw, path.c_str()) == 0) return git::Repository(raw);

  // First use: create it under a lock, so two processes do not initialize it at once.
  auto lock = FileLock::acquire(state_dir / "shadow.lock");
  if (!lock) return lock.error();
  if (git_repository_open_bare(&raw, path.c_str()) == 0) return git::Repository(raw);
  fs::path tmp = state_dir / ("shadow.git.new." + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (git_repository_init(&raw, tmp.c_str(), /*bare=*/1) != 0)
    return git::failure("cannot create the shadow repository in " + state_dir.string());
  git::Repository repo(raw);
  git_config* cfg = nullptr;
  if (git_repository_config(&cfg, repo.get()) == 0) {
    // Blobs byte-exact and modes exactly as on disk, whatever the platform guessed.
    git_config_set_bool(cfg, "core.filemode", 1);
    git_config_set_bool(cfg, "core.symlinks", 1);
    git_config_set_bool(cfg, "core.ignorecase", 0);
    git_config_set_string(cfg, "core.autocrlf", "false");
    git_config_set_bool(cfg, "core.precomposeunicode", 0);
    git_config_free(cfg);
  }
  fs::create_directories(tmp / "info", ec);
  if (!write_file_atomic(tmp / "info" / "attributes", "* -text -filter -ident -eol\n"))
    return Error{"cannot write the shadow repository's attributes in " + tmp.string()};
  repo.reset();
  fs::rename(tmp, path, ec);
  if (ec) return Error{"cannot create the shadow repository " + path.string() + ": " + ec.message()};
  if (git_repository_open_bare(&raw, path.c_str()) != 0) return git::failure("cannot open the shadow repository");
  return git::Repository(raw);
}

// A fresh handle on the shadow repository with its work root and in-memory ignore rules.
Result<git::Repository> open_work_repo(const fs::path& state_dir, const fs::path& root, const std::string& rules) {
  auto repo = open_shadow(state_dir);
  if (!repo) return repo;
  if (git_repository_set_workdir(repo->get(), root.c_str(), /*update_gitlink=*/0) != 0)
    return git::failure("cannot point the shadow repository at " + root.string());
  if (!rules.empty() && git_ignore_add_rule(repo->get(), rules.c_str()) != 0)
    return git::failure("cannot read the ignore rules");
  return repo;
}

// ---------------------------------------------------------------- per-folder state

struct FolderState {
  fs::path dir;  // <state>/snapshots/<key>: index (stat cache), fast-path record, lock, meta
  std::string key;
  std::string ref() const { return "refs/sandboxes/" + key; }
};

FolderState folder_state(const fs::path& state_dir, const fs::path& folder) {
  std::string key = folder_key(folder);
  return {state_dir / "snapshots" / key, key};
}

// blob id -> binary, so an unchanged file is never read again to classify it.
std::unordered_map<std::string, bool> load_binary_cache(const fs::path& file) {
  std::unordered_map<std::string, bool> cache;
  std::string text = read_file_or_empty(file);
  std::string_view v = text;
  while (v.size() >= GIT_OID_HEXSZ + 2) {
    cache.emplace(std::string(v.substr(0, GIT_OID_HEXSZ)), v[GIT_OID_HEXSZ + 1] == '1');
    size_t eol = v.find('\n');
    if (eol == std::string_view::npos) break;
    v.remove_prefix(eol + 1);
  }
  return cache;
}

// ---------------------------------------------------------------- the snapshot itself

class Snapshotter {
 public:
  Snapshotter(const settings::WorkspaceSettings& settings, const SnapshotOptions& options)
      : settings_(settings), options_(options) {}

  Result<Snapshot> run(const fs::path& requested);

 private:
  std::optional<Snapshot> update_changed_files(FastCache& cache, const std::vector<size_t>& changed);
  void save_fast_path(const fs::path& file, const std::string& config);
  Result<Snapshot> slow_path(const fs::path& requested);
  void progress(std::string_view stage, int percent) {
    if (options_.progress) options_.progress(stage, percent);
  }
  bool cancelled() const { return options_.stop.stop_requested(); }
  std::string rel(std::string_view path) const {
    return loc_.prefix.empty() ? std::string(path) : std::string(path.substr(loc_.prefix.size() + 1));
  }
  std::string rules_text(bool with_publish_rules) const;
  std::string attribute_ignored(const std::string& path);
  std::optional<std::string> link_escapes(const std::string& path) const;
  Status apply_changes(git_index* index, bool recheck_all);
  Status check_limits(git_index* index) const;
  Result<git_oid> write_tree(git_index* index);
  Result<std::string> record_commit(const git_oid& tree, size_t files);
  void fill_manifest(git_index* index);

  const settings::WorkspaceSettings& settings_;
  const SnapshotOptions& options_;
  Location loc_;
  FolderState state_;
  git::Repository repo_;
  git::Repository attribution_repo_;  // the same rules minus .sandboxignore, opened on demand
  std::string sandboxignore_;
  std::unordered_map<std::string, bool> fresh_binary_;
  bool index_changed_ = true;
  std::vector<StatKey> file_keys_;  // stat data of out_.files, as the index recorded it  // blob id -> binary, for blobs added now
  Snapshot out_;
};

std::string Snapshotter::rules_text(bool with_publish_rules) const {
  // libgit2 lets the last matching in-memory rule win, and in-memory rules win over .gitignore.
  std::string rules = loc_.info_exclude;
  if (!rules.empty() && rules.back() != '\n') rules.push_back('\n');
  rules += rebase_rules(builtin_rules(settings_.include), loc_.prefix);
  if (with_publish_rules) {
    std::string extra;
    for (const auto& p : settings_.ignore) extra.append(p).append("\n");
    rules += rebase_rules(extra, loc_.prefix);
    rules += rebase_rules(sandboxignore_, loc_.prefix);
  }
  return rules;
}

std::string Snapshotter::attribute_ignored(const std::string& path) {
  if (auto builtin = builtin_reason(rel(path))) return *builtin;
  if (!attribution_repo_) {
    auto repo = open_work_repo(options_.state_dir, loc_.root, rules_text(false));
    if (!repo) return "gitignore";
    attribution_repo_ = std::move(repo.value());
  }
  int ignored = 0;
  git_ignore_path_is_ignored(&ignored, attribution_repo_.get(), path.c_str());
  return ignored ? "gitignore" : "sandboxignore";
}

std::optional<std::string> Snapshotter::link_escapes(const std::string& path) const {
  std::error_code ec;
  fs::path target = fs::read_symlink(loc_.root / path, ec);
  if (ec) return "cannot be read";
  if (target.is_absolute()) return "points to the absolute path " + target.string();
  // Read alone here (the hub follows a snapshot's links through each other when it receives them).
  const std::string link = rel(path);
  relpath::LinkTree alone{{link, {relpath::Entry::Kind::link, target.string()}}};
  if (relpath::resolve(alone, link).outcome != relpath::Resolution::Outcome::inside)
    return "points outside the folder (" + target.string() + ")";
  return std::nullopt;
}

Status Snapshotter::apply_changes(git_index* index, bool recheck_all) {
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  opts.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS | GIT_DIFF_INCLUDE_IGNORED |
               GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_DISABLE_PATHSPEC_MATCH | GIT_DIFF_UPDATE_INDEX;
  char* spec = loc_.prefix.data();
  if (!loc_.prefix.empty()) opts.pathspec = {&spec, 1};
  opts.progress_cb = [](const git_diff*, const char*, const char*, void* payload) -> int {
    return static_cast<Snapshotter*>(payload)->cancelled() ? GIT_EUSER : 0;
  };
  opts.payload = this;

  git_diff* raw = nullptr;
  int rc = git_diff_index_to_workdir(&raw, repo_.get(), index, &opts);
  if (cancelled()) return cancelled_error();
  if (rc != 0) return git::failure("cannot read the folder " + loc_.folder.string());
  git::Diff diff(raw);

  std::vector<std::string> to_add, to_remove;
  std::vector<std::pair<uint64_t, std::string>> oversize;
  for (size_t i = 0, n = git_diff_num_deltas(diff.get()); i < n; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff.get(), i);
    std::string path = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
    switch (d->status) {
      case GIT_DELTA_IGNORED:
        out_.excluded.push_back({rel(path), attribute_ignored(path)});
        break;
      case GIT_DELTA_DELETED:
        if (is_gitignore(path)) recheck_all = true;
        to_remove.push_back(path);
        break;
      case GIT_DELTA_UNTRACKED:
      case GIT_DELTA_MODIFIED:
      case GIT_DELTA_TYPECHANGE: {
        if (path.ends_with("/")) {  // a directory libgit2 would not enter: another repository
          out_.excluded.push_back({rel(path), "nested-repository"});
          out_.warnings.push_back(rel(path) + " is a separate git repository and was left out");
          if (d->status != GIT_DELTA_UNTRACKED) to_remove.push_back(path);
          break;
        }
        if (is_gitignore(path)) recheck_all = true;
        uint16_t mode = d->new_file.mode;
        if (mode == GIT_FILEMODE_LINK) {
          if (auto why = link_escapes(path)) {
            out_.excluded.push_back({rel(path), "symlink-outside"});
            out_.warnings.push_back("the link " + rel(path) + " " + *why + "; it was left out");
            if (d->status != GIT_DELTA_UNTRACKED) to_remove.push_back(path);
            break;
          }
        } else if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
          out_.excluded.push_back({rel(path), "special-file"});
          break;
        }
        if (d->new_file.size > settings_.limits.max_file_bytes) oversize.emplace_back(d->new_file.size, rel(path));
        to_add.push_back(path);
        break;
      }
      default:
        break;
    }
  }

  if (!oversize.empty()) {
    std::sort(oversize.rbegin(), oversize.rend());
    std::string list;
    for (size_t i = 0; i < std::min<size_t>(oversize.size(), 5); ++i)
      list += (i ? ", " : "") + oversize[i].second + " (" + human_bytes(oversize[i].first) + ")";
    return Error{std::to_string(oversize.size()) + " file(s) exceed the single-file limit of " +
                 human_bytes(settings_.limits.max_file_bytes) + ": " + list +
                 "; raise limits.maxFileBytes in .studyhub-sandbox.json or list them in .sandboxignore"};
  }

  progress("hashing files", 10);
  auto hashed = hash_files(shadow_repo_path(options_.state_dir) / "objects", loc_.root, to_add, options_.stop,
                           [&](size_t done) {
                             progress("hashing files", static_cast<int>(10 + 80 * done / to_add.size()));
                           });
  if (cancelled()) return cancelled_error();
  for (const auto& f : hashed) {
    if (f.vanished) continue;  // deleted while we looked: it is simply not part of this snapshot
    if (!f.error.empty()) return Error{"cannot read " + (loc_.folder / rel(f.path)).string() + ": " + f.error};
    git_index_entry entry = index_entry_for(f);
    if (git_index_add(index, &entry) != 0) return git::failure("cannot record " + rel(f.path));
    if (!S_ISLNK(f.st.st_mode)) fresh_binary_.emplace(git::hex(f.id), f.binary);
  }
  for (const auto& path : to_remove) git_index_remove_bypath(index, path.c_str());
  index_changed_ = !to_add.empty() || !to_remove.empty();
  git_error_clear();

  if (recheck_all) {
    // The rules changed since the last snapshot: files recorded then may be excluded now.
    std::vector<std::string> now_ignored;
    for (size_t i = 0, n = git_index_entrycount(index); i < n; ++i) {
      const git_index_entry* e = git_index_get_byindex(index, i);
      int ignored = 0;
      if (git_ignore_path_is_ignored(&ignored, repo_.get(), e->path) == 0 && ignored) now_ignored.push_back(e->path);
    }
    index_changed_ |= !now_ignored.empty();
    for (const auto& path : now_ignored) {
      out_.excluded.push_back({rel(path), attribute_ignored(path)});
      git_index_remove_bypath(index, path.c_str());
    }
  }
  return ok_status();
}

Status Snapshotter::check_limits(git_index* index) const {
  const auto& limits = settings_.limits;
  size_t count = git_index_entrycount(index);
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) total += git_index_get_byindex(index, i)->file_size;
  if (count <= limits.max_files && total <= limits.max_total_bytes) return ok_status();

  if (count > limits.max_files) {
    std::map<std::string, size_t> per_dir;  // where the files are, to point at what to exclude
    for (size_t i = 0; i < count; ++i) {
      std::string r = rel(git_index_get_byindex(index, i)->path);
      auto slash = r.find('/');
      per_dir[slash == std::string::npos ? "." : r.substr(0, slash + 1)]++;
    }
    std::vector<std::pair<size_t, std::string>> dirs;
    for (auto& [d, n] : per_dir) dirs.emplace_back(n, d);
    std::sort(dirs.rbegin(), dirs.rend());
    std::string list;
    for (size_t i = 0; i < std::min<size_t>(dirs.size(), 5); ++i)
      list += (i ? ", " : "") + dirs[i].second + " (" + std::to_string(dirs[i].first) + " files)";
    return Error{"the folder holds " + std::to_string(count) + " files, more than the limit of " +
                 std::to_string(limits.max_files) + " (most in " + list +
                 "); raise limits.maxFiles in .studyhub-sandbox.json or exclude folders with .sandboxignore"};
  }
  std::vector<std::pair<uint64_t, std::string>> files;
  for (size_t i = 0; i < count; ++i) {
    const git_index_entry* e = git_index_get_byindex(index, i);
    files.emplace_back(e->file_size, rel(e->path));
  }
  std::partial_sort(files.begin(), files.begin() + std::min<size_t>(5, files.size()), files.end(),
                    std::greater<>());
  std::string list;
  for (size_t i = 0; i < std::min<size_t>(files.size(), 5); ++i)
    list += (i ? ", " : "") + files[i].second + " (" + human_bytes(files[i].first) + ")";
  return Error{"the folder holds " + human_bytes(total) + ", more than the limit of " +
               human_bytes(limits.max_total_bytes) + " (largest: " + list +
               "); raise limits.maxTotalBytes in .studyhub-sandbox.json or exclude files with .sandboxignore"};
}

Result<git_oid> Snapshotter::write_tree(git_index* index) {
  git_oid root_tree;
  if (git_index_write_tree_to(&root_tree, index, repo_.get()) != 0) return git::failure("cannot record the snapshot");
  if (loc_.prefix.empty()) return root_tree;
  git_tree* raw_tree = nullptr;
  git_tree_entry* raw_entry = nullptr;
  if (git_tree_lookup(&raw_tree, repo_.get(), &root_tree) != 0) return git::failure("cannot read the snapshot");
  git::Tree tree(raw_tree);
  if (git_tree_entry_bypath(&raw_entry, tree.get(), loc_.prefix.c_str()) == 0) {
    git::TreeEntry entry(raw_entry);
    return *git_tree_entry_id(entry.get());
  }
  git_error_clear();
  // Nothing included: the snapshot is the empty tree.
  git_treebuilder* raw_builder = nullptr;
  git_oid empty;
  if (git_treebuilder_new(&raw_builder, repo_.get(), nullptr) != 0) return git::failure("cannot record the snapshot");
  git::TreeBuilder builder(raw_builder);
  if (git_treebuilder_write(&empty, builder.get()) != 0) return git::failure("cannot record the snapshot");
  return empty;
}

Result<std::string> Snapshotter::record_commit(const git_oid& tree_id, size_t files) {
  git_oid parent_id;
  git::Commit parent;
  std::string ref = state_.ref();
  if (git_reference_name_to_id(&parent_id, repo_.get(), ref.c_str()) == 0) {
    git_commit* raw = nullptr;
    if (git_commit_lookup(&raw, repo_.get(), &parent_id) == 0) {
      parent.reset(raw);
      if (git_oid_equal(git_commit_tree_id(raw), &tree_id)) return git::hex(parent_id);  // unchanged
    }
  }
  git_error_clear();
  git_tree* raw_tree = nullptr;
  if (git_tree_lookup(&raw_tree, repo_.get(), &tree_id) != 0) return git::failure("cannot read the snapshot");
  git::Tree tree(raw_tree);
  git_signature* raw_sig = nullptr;
  if (git_signature_now(&raw_sig, "studyhub-sandbox", "studyhub-sandbox@localhost") != 0)
    return git::failure("cannot sign the snapshot");
  git::Signature sig(raw_sig);
  std::string message = "snapshot of " + loc_.folder.string() + "\n\n" + std::to_string(files) + " files\n";
  const git_commit* parents[] = {parent.get()};
  git_oid commit_id;
  if (git_commit_create(&commit_id, repo_.get(), ref.c_str(), sig.get(), sig.get(), "UTF-8", message.c_str(),
                        tree.get(), parent ? 1 : 0, parents) != 0)
    return git::failure("cannot record the snapshot's commit");
  return git::hex(commit_id);
}

void Snapshotter::fill_manifest(git_index* index) {
  fs::path cache_file = state_.dir / "binary";
  auto cache = load_binary_cache(cache_file);
  bool cache_changed = false;
  git_odb* raw_odb = nullptr;
  git_repository_odb(&raw_odb, repo_.get());
  git::Odb odb(raw_odb);

  size_t count = git_index_entrycount(index);
  out_.files.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const git_index_entry* e = git_index_get_byindex(index, i);
    SnapshotFile f{.path = rel(e->path), .size = e->file_size, .mode = e->mode, .blob = git::hex(e->id)};
    auto hit = cache.find(f.blob);
    auto fresh = fresh_binary_.find(f.blob);
    if (hit != cache.end()) {
      f.binary = hit->second;
    } else if (fresh != fresh_binary_.end()) {
      f.binary = fresh->second;
      cache.emplace(f.blob, f.binary);
      cache_changed = true;
    } else {
      git_odb_object* raw = nullptr;
      if (odb && git_odb_read(&raw, odb.get(), &e->id) == 0) {
        git::OdbObject object(raw);
        f.binary = e->mode != GIT_FILEMODE_LINK && is_binary(git_odb_object_data(raw), git_odb_object_size(raw));
      }
      cache.emplace(f.blob, f.binary);
      cache_changed = true;
    }
    out_.bytes += f.size;
    out_.files.push_back(std::move(f));
    file_keys_.push_back(stat_key(*e));
  }
  if (cache_changed || cache.size() > count) {
    std::string text;
    text.reserve(count * (GIT_OID_HEXSZ + 3));
    for (const auto& f : out_.files) text.append(f.blob).append(f.binary ? " 1\n" : " 0\n");
    write_file_atomic(cache_file, text);
  }
}

Result<Snapshot> Snapshotter::run(const fs::path& requested) {
  progress("reading the folder", 0);
  std::error_code ec;
  fs::path folder = fs::canonical(requested, ec);
  if (ec) return Error{"cannot open the folder " + requested.string() + ": " + ec.message()};
  if (!fs::is_directory(folder, ec)) return Error{requested.string() + " is not a folder; pass the sandbox's folder"};

  state_ = folder_state(options_.state_dir, folder);
  fs::create_directories(state_.dir, ec);
  if (ec) return Error{"cannot write the state directory " + state_.dir.string() + ": " + ec.message()};
  // One snapshot of a folder at a time across processes; different folders proceed in parallel.
  auto lock = FileLock::acquire(state_.dir / "lock");
  if (!lock) return lock.error();

  fs::path cache_file = state_.dir / "fast";
  std::string config = settings_fingerprint(settings_);
  if (auto cache = load_fast_cache(cache_file)) {
    // A changed file needs libgit2: have it ready by the time the scan ends.
    FastVerdict verdict = check_fast_cache(*cache, folder, config, git::init_in_background);
    if (verdict.kind == FastVerdict::Kind::unchanged) {
      progress("done", 100);
      return std::move(cache->snapshot);
    }
    if (verdict.kind == FastVerdict::Kind::files_changed) {
      loc_.folder = folder;
      if (auto updated = update_changed_files(*cache, verdict.changed)) {
        progress("done", 100);
        return std::move(*updated);
      }
      if (cancelled()) return cancelled_error();
    }
  }
  auto slow = slow_path(folder);
  if (slow) save_fast_path(cache_file, config);
  return slow;
}

// Only the contents of some recorded files moved: hash those and update the recorded tree.
// Anything unusual (a file gone, a type change, a rule file, a limit) is left to the full path.
std::optional<Snapshot> Snapshotter::update_changed_files(FastCache& cache, const std::vector<size_t>& changed) {
  std::vector<std::string> paths;
  for (size_t i : changed) {
    const std::string& path = cache.snapshot.files[i].path;
    if (is_gitignore(path)) return std::nullopt;
    paths.push_back(path);
  }
  git::init_once();
  auto repo = open_shadow(options_.state_dir);
  if (!repo) return std::nullopt;
  repo_ = std::move(repo.value());
  progress("hashing files", 10);
  auto hashed = hash_files(shadow_repo_path(options_.state_dir) / "objects", loc_.folder, paths, options_.stop,
                           [&](size_t done) { progress("hashing files", static_cast<int>(10 + 80 * done / paths.size())); });
  if (cancelled()) return std::nullopt;

  Snapshot& snap = cache.snapshot;
  std::vector<git_tree_update> updates;
  for (size_t k = 0; k < changed.size(); ++k) {
    const HashedFile& h = hashed[k];
    SnapshotFile& f = snap.files[changed[k]];
    if (h.vanished || !h.error.empty()) return std::nullopt;
    git_index_entry entry = index_entry_for(h);
    bool was_link = f.mode == GIT_FILEMODE_LINK, is_link = entry.mode == GIT_FILEMODE_LINK;
    if (was_link != is_link || !(S_ISREG(h.st.st_mode) || S_ISLNK(h.st.st_mode))) return std::nullopt;
    if (is_link || static_cast<uint64_t>(h.st.st_size) > settings_.limits.max_file_bytes) return std::nullopt;
    snap.bytes = snap.bytes - f.size + static_cast<uint64_t>(h.st.st_size);
    f.size = static_cast<uint64_t>(h.st.st_size);
    f.mode = entry.mode;
    f.blob = git::hex(h.id);
    f.binary = h.binary;
    cache.file_keys[changed[k]] = stat_key(entry);
    updates.push_back({GIT_TREE_UPDATE_UPSERT, h.id, static_cast<git_filemode_t>(entry.mode), f.path.c_str()});
  }
  if (snap.bytes > settings_.limits.max_total_bytes) return std::nullopt;

  git_oid baseline_id, tree_id;
  git_tree* raw = nullptr;
  if (git_oid_fromstr(&baseline_id, snap.id.c_str()) != 0 || git_tree_lookup(&raw, repo_.get(), &baseline_id) != 0)
    return std::nullopt;
  git::Tree baseline(raw);
  if (git_tree_create_updated(&tree_id, repo_.get(), baseline.get(), updates.size(), updates.data()) != 0)
    return std::nullopt;
  auto commit = record_commit(tree_id, snap.files.size());
  if (!commit) return std::nullopt;
  snap.id = git::hex(tree_id);
  snap.commit = commit.value();
  cache.saved_at_s = now_seconds();
  save_fast_cache(state_.dir / "fast", cache);
  return std::move(snap);  // the cache is saved: its copy of the snapshot is not needed again
}

void Snapshotter::save_fast_path(const fs::path& file, const std::string& config) {
  FastCache cache;
  cache.saved_at_s = now_seconds();
  cache.config = config;
  // Where a repository appears or disappears decides which rules apply: watch presence, not mtime.
  auto presence = [](const fs::path& p) {
    StatKey k = stat_key(p, false);
    return StatKey{.mode = k.mode & S_IFMT};
  };
  for (fs::path dir = loc_.folder;; dir = dir.parent_path()) {
    cache.watched.emplace_back((dir / ".git").string(), presence(dir / ".git"));
    if (dir == dir.root_path() || dir.empty()) break;
  }
  std::vector<std::string> rule_files{(loc_.folder / kSandboxIgnoreFile).string()};
  if (!loc_.info_exclude_path.empty()) rule_files.push_back(loc_.info_exclude_path.string());
  for (const auto& f : ancestor_gitignores(loc_)) rule_files.push_back(f.string());
  walk_dirs(loc_.folder, out_.excluded, cache.dirs, rule_files);
  for (const auto& f : rule_files) cache.watched.emplace_back(f, stat_key(f, false));
  cache.file_keys = file_keys_;
  cache.snapshot = out_;
  save_fast_cache(file, cache);
}

Result<Snapshot> Snapshotter::slow_path(const fs::path& requested) {
  git::init_once();
  loc_ = locate(requested);
  out_.folder = loc_.folder;
  sandboxignore_ = read_file_or_empty(loc_.folder / kSandboxIgnoreFile);

  auto repo = open_work_repo(options_.state_dir, loc_.root, rules_text(true));
  if (!repo) return repo.error();
  repo_ = std::move(repo.value());

  if (!loc_.prefix.empty()) {
    // A folder the enclosing repository ignores would come out empty: use its own rules alone.
    int ignored = 0;
    if (git_ignore_path_is_ignored(&ignored, repo_.get(), (loc_.prefix + "/").c_str()) == 0 && ignored) {
      out_.warnings.push_back("the enclosing repository's ignore rules exclude this folder; only its own rules apply");
      loc_.root = loc_.folder;
      loc_.prefix.clear();
      loc_.info_exclude.clear();
      auto own = open_work_repo(options_.state_dir, loc_.root, rules_text(true));
      if (!own) return own.error();
      repo_ = std::move(own.value());
    }
  }

  std::error_code ec;
  git_index* raw_index = nullptr;
  if (git_index_open(&raw_index, (state_.dir / "index").c_str()) != 0) {
    // A damaged stat cache costs time, never correctness: drop it and start from scratch.
    fs::remove(state_.dir / "index", ec);
    if (git_index_open(&raw_index, (state_.dir / "index").c_str()) != 0)
      return git::failure("cannot open the snapshot index");
  }
  git::Index index(raw_index);
  git_repository_set_index(repo_.get(), index.get());

  // The layout and the rules decide what the saved index means; when they change, start over
  // (layout) or re-check every recorded file against the rules (rules).
  std::string layout = loc_.root.string() + "\n" + loc_.prefix;
  std::string fingerprint = rules_text(true);
  for (const auto& f : ancestor_gitignores(loc_)) fingerprint += read_file_or_empty(f);
  git_oid rules_oid;
  git_odb_hash(&rules_oid, fingerprint.data(), fingerprint.size(), GIT_OBJECT_BLOB);
  json meta = json::parse(read_file_or_empty(state_.dir / "meta.json"), nullptr, false);
  if (!meta.is_object()) meta = json::object();
  if (meta.value("layout", "") != layout) {
    git_index_clear(index.get());
  } else if (git_index_read(index.get(), /*force=*/0) != 0) {
    git_index_clear(index.get());  // a damaged cache costs time, never correctness
  }
  bool recheck_all = meta.value("rules", "") != git::hex(rules_oid);

  auto applied = apply_changes(index.get(), recheck_all);
  if (!applied) return applied.error();
  if (loc_.has_git_dir) out_.excluded.push_back({".git/", "git"});
  progress("checking limits", 90);
  auto within = check_limits(index.get());
  if (!within) return within.error();

  auto tree = write_tree(index.get());
  if (!tree) return tree.error();
  out_.id = git::hex(tree.value());
  fill_manifest(index.get());
  auto commit = record_commit(tree.value(), out_.files.size());
  if (!commit) return commit.error();
  out_.commit = commit.value();

  // Rewriting an unchanged index is a third of a warm snapshot's cost. It is still rewritten
  // while young, so entries it recorded as racily clean get settled stat data soon.
  std::error_code age_ec;
  auto written = fs::last_write_time(state_.dir / "index", age_ec);
  bool young = age_ec || fs::file_time_type::clock::now() - written < std::chrono::seconds(3);
  if ((index_changed_ || young || recheck_all) && git_index_write(index.get()) != 0)
    return git::failure("cannot save the snapshot index");
  meta = {{"folder", loc_.folder.string()}, {"layout", layout}, {"rules", git::hex(rules_oid)}};
  write_file_atomic(state_.dir / "meta.json", meta.dump());

  std::sort(out_.excluded.begin(), out_.excluded.end(),
            [](const Exclusion& a, const Exclusion& b) { return a.path < b.path; });
  progress("done", 100);
  return out_;
}

}  // namespace

Result<Snapshot> take_snapshot(const fs::path& folder, const settings::WorkspaceSettings& settings,
                               const SnapshotOptions& options) {
  return Snapshotter(settings, options).run(folder);
}

}  // namespace studyhub::snapshot

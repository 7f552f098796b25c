#include "runner/payload_builder.h"

#include "archive/base64.h"
#include "snapshot/content.h"
#include "snapshot/git.h"

namespace studyhub::runner {

namespace {

// What a file adds to the payload's JSON: name, content and the object around them (an estimate
// that errs high; escaping is not counted exactly).
uint64_t json_bytes(const PayloadFile& f) { return f.name.size() + f.content.size() + 32; }

constexpr const char* kBinaryList = ".studyhub/binary";
constexpr const char* kEmptyList = ".studyhub/empty";
constexpr const char* kLinkList = ".studyhub/links";

// Restores what the payload carried encoded, then removes the lists. Names come one per line,
// which is why the builder refuses names holding a line break.
std::string unpack_script(bool binary, bool empty, bool links) {
  std::string s;
  if (binary)
    s += "while IFS= read -r f; do base64 -d \"$f.studyhub-b64\" > \"$f\" && rm -f \"$f.studyhub-b64\"; done < " +
         std::string(kBinaryList) + "\n";
  if (empty) s += "while IFS= read -r f; do mkdir -p \"$(dirname \"$f\")\" && : > \"$f\"; done < " + std::string(kEmptyList) + "\n";
  if (links)
    s += "while IFS= read -r f && IFS= read -r t; do mkdir -p \"$(dirname \"$f\")\" && ln -sfn \"$t\" \"$f\"; done < " +
         std::string(kLinkList) + "\n";
  if (binary || empty || links) s += "rm -rf .studyhub\n";
  return s;
}

}  // namespace

Result<BuiltPayload> build_payload(const snapshot::Snapshot& snap, const std::filesystem::path& objects_dir,
                                   const settings::WorkspaceSettings& settings, const std::string& language) {
  git::init_once();
  git_odb* raw = nullptr;
  if (git_odb_open(&raw, objects_dir.c_str()) != 0)
    return git::failure("cannot open the snapshot store");
  git::Odb odb(raw);

  BuiltPayload out;
  out.payload.language = language;
  std::string binary_list, empty_list, link_list, deps_source;
  std::optional<std::string> package_json;
  for (const auto& f : snap.files) {
    if (f.path.find_first_of("\r\n") != std::string::npos)
      return Error{"the file name '" + f.path + "' holds a line break, which a build payload cannot carry; rename it"};
    git_oid id;
    git_odb_object* raw_obj = nullptr;
    if (git_oid_fromstr(&id, f.blob.c_str()) != 0 || git_odb_read(&raw_obj, odb.get(), &id) != 0)
      return git::failure("cannot read " + f.path + " from the snapshot");
    git::OdbObject obj(raw_obj);
    std::string_view content(static_cast<const char*>(git_odb_object_data(raw_obj)), git_odb_object_size(raw_obj));
    if (f.path == "package.json") package_json = std::string(content);
    if (f.path == "package.json" || f.path == "package-lock.json" || f.path == "npm-shrinkwrap.json")
      deps_source += f.path + ":" + f.blob + "\n";
    if (f.mode == GIT_FILEMODE_LINK) {
      link_list += f.path + "\n" + std::string(content) + "\n";
      ++out.links;
    } else if (content.empty()) {
      empty_list += f.path + "\n";
      ++out.empty_files;
    } else if (snapshot::is_binary(content.data(), content.size())) {
      out.payload.files.push_back({f.path + ".studyhub-b64", archive::encode_base64(content)});
      binary_list += f.path + "\n";
      ++out.binary_files;
    } else {
      out.payload.files.push_back({f.path, std::string(content)});
    }
  }
  if (!binary_list.empty()) out.payload.files.push_back({kBinaryList, binary_list});
  if (!empty_list.empty()) out.payload.files.push_back({kEmptyList, empty_list});
  if (!link_list.empty()) out.payload.files.push_back({kLinkList, link_list});

  auto preset = detect_preset(package_json, settings);
  if (!preset) return preset.error();
  out.preset = preset.value();
  if (out.payload.files.empty()) {
    // code-runner needs at least one file; an empty sandbox still builds an (empty) site.
    out.payload.files.push_back({".studyhub-empty-sandbox", "this sandbox has no files\n"});
  }
  git_oid deps;
  deps_source += "preset:" + out.preset.name;
  git_odb_hash(&deps, deps_source.data(), deps_source.size(), GIT_OBJECT_BLOB);
  out.payload.command = build_script(out.preset, {.unpack = unpack_script(!binary_list.empty(), !empty_list.empty(),
                                                                          !link_list.empty()),
                                                  .deps_hash = git::hex(deps)});
  for (const auto& f : out.payload.files) out.bytes += json_bytes(f);
  return out;
}

}  // namespace studyhub::runner

namespace studyhub::runner {

void prefer_image_build_commands(BuiltPayload& built, const std::string& language) {
  built.payload.language = language;
  constexpr const char* kEnvFile = ".env.production.local";
  bool as_is = built.binary_files == 0 && built.empty_files == 0 && built.links == 0;
  bool has_env_file = false;
  for (const auto& f : built.payload.files) has_env_file = has_env_file || f.name == kEnvFile;
  if (language != "buildcreatereactapp" || built.preset.kind != PresetKind::create_react_app || !as_is ||
      built.preset.output_dir != "build" || has_env_file)
    return;
  built.payload.command.reset();
  // Relative asset URLs, so the site works under /s/<name>/ and /v/<id>/ (the local script sets
  // the same variable on the command line).
  built.payload.files.push_back({kEnvFile, "PUBLIC_URL=.\n"});
  built.bytes += json_bytes(built.payload.files.back());
}

}  // namespace studyhub::runner

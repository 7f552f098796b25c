// Real tar.gz archives written with libarchive, good and hostile, against the extractor.
#include "archive/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <random>

#include "archive/base64.h"
#include "support/fs_helpers.h"
#include "support/rpc_client.h"

using namespace studyhub;
using namespace studyhub::testing;

namespace {

struct Entry {
  std::string name;
  mode_t type = AE_IFREG;
  std::string content;   // file content, or link target for links
  bool hardlink = false;
};

std::string make_tar_gz(const std::vector<Entry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  archive_write_open(
      a, &out, nullptr,
      [](struct archive*, void* data, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const auto& e : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.type == AE_IFDIR ? 0755 : 0644);
    if (e.hardlink) archive_entry_set_hardlink(entry, e.content.c_str());
    else if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.content.c_str());
    else if (e.type == AE_IFREG) archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
    archive_write_header(a, entry);
    if (e.type == AE_IFREG && !e.hardlink) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

struct Fixture {
  TempDir tmp;
  fs::path staging = fs::path(tmp.path()) / "state/staging/build-1";
  fs::path outside = fs::path(tmp.path()) / "outside";
  Fixture() {
    fs::create_directories(staging);
    fs::create_directories(outside);
    write_file(outside / "sentinel", "untouched");
  }
  // Everything outside the staging folder, to prove an extraction wrote nothing there.
  std::map<std::string, EntryState> world() {
    auto all = folder_state(tmp.path());
    std::erase_if(all, [&](auto& kv) { return kv.first.starts_with("state/staging/build-1"); });
    return all;
  }
};

// The tar inside a .tar.gz, inflated.
std::string inflated(const std::string& tgz) {
  struct archive* r = archive_read_new();
  archive_read_support_filter_gzip(r);
  archive_read_support_format_raw(r);
  archive_read_open_memory(r, tgz.data(), tgz.size());
  struct archive_entry* e;
  std::string tar;
  if (archive_read_next_header(r, &e) == ARCHIVE_OK) {
    char buf[65536];
    for (la_ssize_t n; (n = archive_read_data(r, buf, sizeof buf)) > 0;) tar.append(buf, static_cast<size_t>(n));
  }
  archive_read_free(r);
  return tar;
}

// `bytes` as one gzip member with nothing after it (no tar around them).
std::string gzip_member(std::string_view bytes) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_raw(a);
  archive_write_set_bytes_in_last_block(a, 1);  // no zero padding after the member
  archive_write_open(
      a, &out, nullptr,
      [](struct archive*, void* data, const void* buf, size_t len) -> la_ssize_t {
        static_cast<std::string*>(data)->append(static_cast<const char*>(buf), len);
        return static_cast<la_ssize_t>(len);
      },
      nullptr);
  struct archive_entry* entry = archive_entry_new();
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_write_header(a, entry);
  archive_write_data(a, bytes.data(), bytes.size());
  archive_entry_free(entry);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "a good site: files, folders, an inside link, through base64 as the contract sends it") {
  std::string tgz = make_tar_gz({{"build/", AE_IFDIR},
                                 {"build/index.html", AE_IFREG, "<h1>hi</h1>"},
                                 {"build/assets/", AE_IFDIR},
                                 {"build/assets/app.js", AE_IFREG, "console.log(1)"},
                                 {"build/latest.js", AE_IFLNK, "assets/app.js"}});
  std::string wire = archive::encode_base64(tgz);
  // The fork strips newlines; `base64` without -w0 inserts them: both decode.
  std::string wrapped;
  for (size_t i = 0; i < wire.size(); i += 76) wrapped += wire.substr(i, 76) + "\n";
  for (const auto& text : {wire, wrapped}) {
    fs::remove_all(staging);
    fs::create_directories(staging);
    auto bytes = archive::decode_base64(text);
    REQUIRE(bytes.ok());
    CHECK(bytes.value() == tgz);
    auto r = archive::extract_site(bytes.value(), staging);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(r->files == 2);
    CHECK(read_file(staging / "index.html") == "<h1>hi</h1>");
    CHECK(read_file(staging / "latest.js") == "console.log(1)");
  }
}

TEST_CASE_FIXTURE(Fixture, "hostile archives are refused and nothing outside staging is written") {
  struct Case {
    const char* what;
    std::vector<Entry> entries;
    const char* needle;
  };
  std::vector<Case> cases{
      {"dot-dot", {{"build/../../outside/evil", AE_IFREG, "x"}}, "'..'"},
      {"deep dot-dot", {{"build/a/../../../outside/evil", AE_IFREG, "x"}}, "'..'"},
      {"absolute", {{"/tmp/evil", AE_IFREG, "x"}}, "absolute"},
      {"outside build", {{"other/file", AE_IFREG, "x"}}, "outside build/"},
      {"link escaping", {{"build/link", AE_IFLNK, "../../outside"}}, "points outside"},
      {"absolute link", {{"build/link", AE_IFLNK, "/etc"}}, "points outside"},
      // Each alone stays inside; followed through each other they leave (the tenants issue).
      {"link chain", {{"build/a/b/c/x", AE_IFLNK, "../../.."}, {"build/esc", AE_IFLNK, "a/b/c/x/../../../.."}}, "points outside"},
      {"chain through a folder link", {{"build/d", AE_IFLNK, "sub/deeper"}, {"build/out", AE_IFLNK, "d/../../.."}}, "points outside"},
      {"write through link", {{"build/ok", AE_IFLNK, "."}, {"build/ok/x", AE_IFREG, "x"}}, "passes through a link"},
      {"hard link", {{"build/a", AE_IFREG, "x"}, {"build/b", AE_IFREG, "build/a", true}}, "hard link"},
      {"fifo", {{"build/pipe", AE_IFIFO}}, "device, FIFO"},
      {"char device", {{"build/dev", AE_IFCHR}}, "device, FIFO"},
      {"backslash", {{"build/..\\..\\evil", AE_IFREG, "x"}}, "backslash"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.what));
    fs::remove_all(staging);
    fs::create_directories(staging);
    auto before = world();
    auto r = archive::extract_site(make_tar_gz(c.entries), staging);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(c.needle) != std::string::npos);
    CHECK(world() == before);
  }
}

TEST_CASE_FIXTURE(Fixture, "archive bombs are capped by bytes and by entries") {
  std::string big(200000, 'z');  // compresses to almost nothing
  auto r = archive::extract_site(make_tar_gz({{"build/big", AE_IFREG, big}}), staging, {.max_bytes = 100000});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("archive bomb") != std::string::npos);

  std::vector<Entry> many;
  for (int i = 0; i < 50; ++i) many.push_back({"build/f" + std::to_string(i), AE_IFREG, "x"});
  fs::remove_all(staging);
  fs::create_directories(staging);
  r = archive::extract_site(make_tar_gz(many), staging, {.max_entries = 20});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("more than 20 entries") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "truncated, non-gzip, non-base64 and build-less outputs are clear errors") {
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 200000; ++i) noise.push_back(static_cast<char>((x = x * 1103515245 + 12345) >> 24));
  std::string tgz = make_tar_gz({{"build/index.html", AE_IFREG, noise}});
  auto cut = archive::extract_site(std::string_view(tgz).substr(0, tgz.size() / 2), staging);
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().message.find("truncated or damaged") != std::string::npos);

  auto plain = archive::extract_site("this is not an archive at all", staging);
  REQUIRE_FALSE(plain.ok());
  CHECK(plain.error().message.find("not a gzip-compressed tar") != std::string::npos);

  auto not_b64 = archive::decode_base64("npm ERR! something went wrong ***");
  REQUIRE_FALSE(not_b64.ok());
  CHECK(not_b64.error().message.find("not base64") != std::string::npos);

  auto empty = archive::extract_site(make_tar_gz({{"dist/index.html", AE_IFREG, "x"}}), staging, {}, "build");
  REQUIRE_FALSE(empty.ok());
}

TEST_CASE_FIXTURE(Fixture, "the contract's wire form is decoded and inflated as it is unpacked: many files, every byte") {
  // Enough files and bytes that the inflating thread and the writing one overlap for many blocks.
  std::vector<Entry> entries{{"build/", AE_IFDIR}};
  uint32_t x = 7;
  for (int d = 0; d < 20; ++d)
    for (int f = 0; f < 30; ++f) {
      std::string content;
      for (int i = 0; i < 3000 + d * 50 + f; ++i) content.push_back(static_cast<char>('a' + ((x = x * 1103515245 + 12345) >> 28)));
      entries.push_back({"build/d" + std::to_string(d) + "/f" + std::to_string(f) + ".txt", AE_IFREG, content});
    }
  std::string wire = archive::encode_base64(make_tar_gz(entries));
  std::string wrapped;
  for (size_t i = 0; i < wire.size(); i += 76) wrapped += wire.substr(i, 76) + "\n";
  for (const auto& text : {wire, wrapped}) {
    fs::remove_all(staging);
    fs::create_directories(staging);
    auto r = archive::extract_site_base64(text, staging);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(r->files == 600);
    for (size_t i = 1; i < entries.size(); i += 37)
      CHECK(read_file(staging / entries[i].name.substr(6)) == entries[i].content);
  }
}

TEST_CASE_FIXTURE(Fixture, "wire-form errors say what was wrong: not base64, cut off, not gzip, damaged, a bomb") {
  std::string tgz = make_tar_gz({{"build/index.html", AE_IFREG, std::string(300000, 'x')}});
  std::string wire = archive::encode_base64(tgz);
  auto expect = [&](std::string_view text, const std::string& part, const archive::ExtractLimits& limits = {}) {
    fs::remove_all(staging);
    fs::create_directories(staging);
    auto r = archive::extract_site_base64(text, staging, limits);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().message.find(part) != std::string::npos, r.error().message);
  };
  expect("npm ERR! something went wrong ***", "not base64");
  // libarchive pads its output with zeros to 10 KiB: cut inside the gzip member itself.
  size_t member = tgz.find_last_not_of('\0') + 1;
  expect(archive::encode_base64(tgz.substr(0, member / 2)), "truncated or damaged");
  expect(archive::encode_base64(tgz.substr(0, member - 4)), "truncated or damaged");  // no length in the trailer
  expect(archive::encode_base64("plain text, not gzip"), "not a gzip-compressed tar archive");
  expect("", "not a gzip-compressed tar archive");
  std::string damaged = tgz;
  for (size_t i = 40; i < 80; ++i) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
  expect(archive::encode_base64(damaged), "truncated or damaged");
  expect(wire, "archive bomb", {.max_bytes = 100000});
  // A gzip of something that is not a tar.
  std::string not_tar = gzip_member("hello, not a tar at all");
  expect(archive::encode_base64(not_tar), "not a gzip-compressed tar archive");
}

TEST_CASE_FIXTURE(Fixture, "concatenated gzip members are one stream, and trailing bytes after it are ignored, as gzip does") {
  // A tar split in two gzip members (what `cat a.gz b.gz` makes).
  std::string tgz = make_tar_gz({{"build/a.txt", AE_IFREG, "first"}, {"build/b.txt", AE_IFREG, "second"}});
  // Inflate, split the tar at a block boundary, and compress each half as its own member.
  std::string tar = inflated(tgz);
  REQUIRE(tar.size() > 1024);
  std::string two = gzip_member(std::string_view(tar).substr(0, 1024)) + gzip_member(std::string_view(tar).substr(1024));
  auto out = archive::extract_site_base64(archive::encode_base64(two + std::string(100, '\0')), staging);
  REQUIRE_MESSAGE(out.ok(), out.error().message);
  CHECK(read_file(staging / "a.txt") == "first");
  CHECK(read_file(staging / "b.txt") == "second");
}

TEST_CASE_FIXTURE(Fixture, "a gzip member whose two magic bytes straddle two input pieces is still read") {
  // Input is inflated 256 KB at a time: a first member of 256 KB - 1 bytes leaves the second
  // member's first magic byte alone at the end of a piece.
  constexpr size_t kPiece = 256 * 1024;
  std::mt19937 random(7);
  std::string big(400000, '\0');
  for (auto& c : big) c = static_cast<char>(random());
  std::string tar = inflated(make_tar_gz({{"build/big.bin", AE_IFREG, big}, {"build/b.txt", AE_IFREG, "second"}}));
  std::string two;
  for (size_t k = kPiece - 400; k < kPiece + 400 && two.empty(); ++k) {
    std::string first = gzip_member(std::string_view(tar).substr(0, k));
    if (first.size() == kPiece - 1) two = first + gzip_member(std::string_view(tar).substr(k));
  }
  REQUIRE_FALSE(two.empty());
  REQUIRE(static_cast<unsigned char>(two[kPiece - 1]) == 0x1f);
  auto out = archive::extract_site(two, staging);
  REQUIRE_MESSAGE(out.ok(), out.error().message);
  CHECK(read_file(staging / "big.bin") == big);
  CHECK(read_file(staging / "b.txt") == "second");
}

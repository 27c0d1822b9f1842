// `lumbung attach`, `lumbung open` and the attachment lines of `show` and `sync` (issue 17):
// the real binaries against a real server.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/cli_fixture.h"
#include "cli/cli_runner.h"
#include "relay.h"

using lumbung::bench::LinkProfile;
using lumbung::bench::Relay;
using lumbung::test::Child;
using lumbung::test::CliFixture;
using lumbung::test::CliResult;
using lumbung::test::official_flags;

namespace {

constexpr const char* kNik = "7402015203780001";

std::string jpeg(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  s[0] = '\xFF';
  s[1] = '\xD8';
  s[2] = '\xFF';
  return s;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("attach - show - sync - open on another laptop") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  f.init_laptop("b", "74.02.01", "OFC-0002");
  REQUIRE(f.lumbung("a", official_flags(kNik, "Siti Rahmawati", "1978-03-12", "P")).exit == 0);

  // Refused before anything is kept: no file, too large (with the hint), a type not allowed,
  // a field that is not an attachment.
  CliResult r = f.lumbung("a", {"attach", kNik, "foto_ktp", f.dir.path() + "/none.jpg"});
  CHECK(r.exit != 0);
  const std::string big = f.write_file("besar.jpg", jpeg(1100 * 1024));
  r = f.lumbung("a", {"attach", kNik, "foto_ktp", big});
  CHECK(r.exit == 3);
  CHECK(r.err.find("too large") != std::string::npos);
  CHECK(r.err.find("Shrink the photo") != std::string::npos);
  const std::string pdf = f.write_file("form.pdf", "%PDF-1.4\n" + std::string(2000, 'x'));
  r = f.lumbung("a", {"attach", kNik, "foto_ktp", pdf});
  CHECK(r.exit == 3);
  CHECK(r.err.find("application/pdf is not accepted") != std::string::npos);
  r = f.lumbung("a", {"attach", kNik, "full_name", pdf});
  CHECK(r.exit != 0);
  CHECK(r.err.find("not an attachment field") != std::string::npos);
  r = f.lumbung("a", {"show", kNik});
  CHECK(r.out.find("Foto KTP") == std::string::npos);

  const std::string photo = jpeg(60 * 1024);
  const std::string ktp = f.write_file("ktp.jpg", photo);
  r = f.lumbung("a", {"attach", kNik, "foto_ktp", ktp});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("a", {"attach", kNik, "formulir", pdf});  // a PDF is allowed there
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  r = f.lumbung("a", {"show", kNik});
  CHECK(r.out.find("ktp.jpg") != std::string::npos);
  CHECK(r.out.find("waiting to be sent") != std::string::npos);

  r = f.lumbung("a", {"sync"});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(r.out.find("Attachments sent: 2") != std::string::npos);
  r = f.lumbung("a", {"show", kNik});
  CHECK(r.out.find("on the server") != std::string::npos);
  CHECK(r.out.find("waiting") == std::string::npos);
  r = f.lumbung("a", {"--json", "sync"});
  REQUIRE(r.exit == 0);
  CHECK(f.json_of(r)["attachments"]["sent"] == 0);  // nothing left to send

  // Laptop b pulls the record, not the photo; `open` fetches it now.
  REQUIRE(f.lumbung("b", {"sync"}).exit == 0);
  r = f.lumbung("b", {"show", kNik});
  CHECK(r.out.find("not on this laptop") != std::string::npos);
  const std::string out = f.dir.path() + "/keluar.jpg";
  r = f.lumbung("b", {"open", kNik, "foto_ktp", out});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK(read_all(out) == photo);
  struct stat st {};
  REQUIRE(::stat(out.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);                   // personal data: the officer's only
  r = f.lumbung("b", {"open", kNik, "foto_ktp", out});  // never over an existing file
  CHECK(r.exit != 0);
  CHECK(read_all(out) == photo);
  r = f.lumbung("b", {"show", kNik});
  CHECK(r.out.find("on the server") != std::string::npos);
  CHECK(r.out.find("not on this laptop") != std::string::npos);  // formulir was not opened

  // A record without the attachment: exit 4.
  REQUIRE(
      f.lumbung("a", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L")).exit ==
      0);
  r = f.lumbung("a", {"open", "7402012107850002", "foto_ktp", f.dir.path() + "/x.jpg"});
  CHECK(r.exit == 4);
}

TEST_CASE("Ctrl-C in lumbung open over a slow link stops soon and the next open goes on") {
  CliFixture f;
  f.init_laptop("a", "74.02.01", "OFC-0001");
  f.init_laptop("b", "74.02.01", "OFC-0002");
  REQUIRE(f.lumbung("a", official_flags(kNik, "Siti Rahmawati", "1978-03-12", "P")).exit == 0);
  const std::string photo = jpeg(300 * 1000);
  REQUIRE(f.lumbung("a", {"attach", kNik, "foto_ktp", f.write_file("ktp.jpg", photo)}).exit == 0);
  REQUIRE(f.lumbung("a", {"sync"}).exit == 0);
  REQUIRE(f.lumbung("b", {"sync"}).exit == 0);

  // 2G: 100 kbit/s each way, 200 ms one way: the photo takes ~25 s to come.
  Relay link(f.server.server().port(), LinkProfile{100000, 200, 0});
  const std::string out = f.dir.path() + "/keluar.jpg";
  Child c(LUMBUNG_CLI_BIN,
          {"--home", f.home("b"), "--lang", "id", "--server", link.url(), "open", kNik, "foto_ktp",
           out},
          {});
  REQUIRE_MESSAGE(c.wait_for_stderr("mengambil lampiran", 20000), c.err_text);
  // Bounded: wait until ~40 KB came over the link (at most 15 s), then Ctrl-C.
  for (int i = 0; i < 150 && link.bytes_down() < 40000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(link.bytes_down() >= 40000);
  const auto t0 = std::chrono::steady_clock::now();
  kill(c.pid(), SIGINT);
  CliResult r = c.finish(20000);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("lumbung open ended " << secs << " s after Ctrl-C, " << link.bytes_down()
                                << " B had come over the link");
  CHECK(r.exit == 130);
  CHECK(secs < 3.0);  // the range on its way is stopped, not waited for
  CHECK_MESSAGE(r.err.find("Dibatalkan.") != std::string::npos, r.err);
  CHECK(r.err.find("jalankan lumbung open lagi untuk melanjutkan") != std::string::npos);
  struct stat st {};
  CHECK(::stat(out.c_str(), &st) != 0);  // no half file written out

  // The next open (straight to the server) goes on from the bytes kept.
  r = f.lumbung("b", {"open", kNik, "foto_ktp", out});
  REQUIRE_MESSAGE(r.exit == 0, r.err);
  CHECK_MESSAGE(r.err.find("going on with the attachment") != std::string::npos, r.err);
  CHECK(read_all(out) == photo);
}

TEST_CASE("a full attachment quota is said in Indonesian with what to do and the records go") {
  CliFixture f;
  f.server.set_extra_args({"--attachment-quota-mb", "1"});
  f.server.restart();
  f.init_laptop("a", "74.02.01", "OFC-0001");
  REQUIRE(f.lumbung("a", official_flags(kNik, "Siti Rahmawati", "1978-03-12", "P")).exit == 0);
  REQUIRE(
      f.lumbung("a", official_flags("7402012107850002", "La Ode Amir", "1985-07-21", "L")).exit ==
      0);
  // Two photos of 600 KB against 1 MiB: the second does not fit.
  REQUIRE(
      f.lumbung("a", {"attach", kNik, "foto_ktp", f.write_file("1.jpg", jpeg(600 * 1000))}).exit ==
      0);
  std::string second = jpeg(600 * 1000);
  second[100] = 'x';  // other bytes, another file
  REQUIRE(f.lumbung("a", {"attach", "7402012107850002", "foto_ktp", f.write_file("2.jpg", second)})
              .exit == 0);
  CliResult r = f.lumbung("a", {"sync"}, "", "id");
  CHECK_MESSAGE(r.exit == 0, r.err);  // the records went: not a failed sync
  CHECK(f.server.records(f.server.admin()).size() == 2);
  CHECK_MESSAGE(r.out.find("Ruang lampiran laptop ini di server sudah penuh") != std::string::npos,
                r.out);
  CHECK(r.out.find("--attachment-quota-mb") != std::string::npos);
  CHECK(r.out.find("1 lampiran belum terkirim") != std::string::npos);
  r = f.lumbung("a", {"show", "7402012107850002"}, "", "id");
  CHECK_MESSAGE(r.out.find("ruang lampiran laptop ini di server penuh") != std::string::npos,
                r.out);
  r = f.lumbung("a", {"--json", "sync"});
  REQUIRE(r.exit == 0);
  CHECK(f.json_of(r)["attachments"]["errors"][0]["code"] == "quota_exceeded");
}

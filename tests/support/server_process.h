// Runs the real lumbung-server binary for integration tests: fork/exec on
// `--listen 127.0.0.1:0 --data <dir>` (plus --insecure-http unless extra_args ask for TLS
// with --tls-cert), reads the "listening on http(s)://..." line from its stdout, and stops
// it by pid (SIGTERM, then SIGKILL after a bounded wait). Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace lumbung::test {

class ServerProcess {
 public:
  // Starts `binary` on a free port (or the one extra_args name with "--listen"
  // "127.0.0.1:<port>") with `data_dir`; the admin token (first start only) is
  // written to <data_dir>/../admin-token unless `admin_token_file` says otherwise.
  // An empty `data_dir` passes no --data (extra_args then give --db and --key-file).
  // Throws std::runtime_error if the server does not report its port within 30 s.
  // `stderr_file`, when not empty, receives the server's stderr (appended), and its stdout
  // after the ready line is kept readable through drain_stdout().
  ServerProcess(const std::string& binary, const std::string& data_dir,
                const std::string& admin_token_file, std::vector<std::string> extra_args = {},
                const std::string& stderr_file = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status as from waitpid
  // (WIFEXITED/WEXITSTATUS apply); -1 if already stopped.
  int stop();
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string base_url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
  // Everything the server wrote on stdout since the ready line (non-blocking, up to now).
  std::string drain_stdout();
  // Lines the server printed on stdout before it was ready (e.g. "admin token: ...").
  const std::vector<std::string>& startup_lines() const { return lines_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  uint16_t port_ = 0;
  std::string scheme_ = "http";
  std::vector<std::string> lines_;
};

// Reads a whole small file; "" if it cannot be read. Trailing newline removed.
std::string read_text_file(const std::string& path);

}  // namespace lumbung::test

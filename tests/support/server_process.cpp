#include "support/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lumbung::test {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

ServerProcess::ServerProcess(const std::string& binary, const std::string& data_dir,
                             const std::string& admin_token_file,
                             std::vector<std::string> extra_args, const std::string& stderr_file) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = {binary, "--listen", "127.0.0.1:0", "--admin-token-file",
                                   admin_token_file};
  // No data directory: extra_args name the database (--db, PostgreSQL).
  if (!data_dir.empty()) args.insert(args.end(), {"--data", data_dir});
  bool tls = false;
  for (size_t i = 0; i < extra_args.size(); ++i) {
    tls = tls || extra_args[i] == "--tls-cert";
    // A test that restarts a server on the port its laptops know asks for it (loopback only).
    if (extra_args[i] == "--listen" && i + 1 < extra_args.size() &&
        extra_args[i + 1].rfind("127.0.0.1:", 0) == 0) {
      args[2] = extra_args[i + 1];
      extra_args.erase(extra_args.begin() + static_cast<long>(i),
                       extra_args.begin() + static_cast<long>(i) + 2);
      --i;
    }
  }
  if (!tls) args.push_back("--insecure-http");  // tests say so explicitly (docs/SECURITY.md)
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    if (!stderr_file.empty()) {
      const int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (err >= 0) {
        ::dup2(err, STDERR_FILENO);
        ::close(err);
      }
    }
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    _exit(127);
  }
  ::close(fds[1]);
  stdout_fd_ = fds[0];

  // Read lines until "listening on http://127.0.0.1:<port>", at most 30 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string buf;
  const std::string marker = "listening on http://127.0.0.1:";
  const std::string tls_marker = "listening on https://127.0.0.1:";
  for (int rounds = 0; rounds < 3000 && port_ == 0; ++rounds) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) break;
    pollfd p{stdout_fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (rc < 0 && errno != EINTR) break;
    if (rc > 0) {
      char chunk[512];
      const ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
      if (n <= 0) break;  // EOF: the server died
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        lines_.push_back(line);
        if (line.compare(0, marker.size(), marker) == 0) {
          port_ = static_cast<uint16_t>(std::stoi(line.substr(marker.size())));
        } else if (line.compare(0, tls_marker.size(), tls_marker) == 0) {
          port_ = static_cast<uint16_t>(std::stoi(line.substr(tls_marker.size())));
          scheme_ = "https";
        }
      }
    }
  }
  if (port_ == 0) {
    stop();
    throw std::runtime_error("lumbung-server did not report a port within 30 s");
  }
}

ServerProcess::~ServerProcess() { stop(); }

std::string ServerProcess::drain_stdout() {
  std::string out;
  for (int guard = 0; stdout_fd_ >= 0 && guard < 10000; ++guard) {
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    char chunk[4096];
    const ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
    if (n <= 0) break;
    out.append(chunk, static_cast<size_t>(n));
  }
  return out;
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  int status = 0;
  ::kill(pid_, SIGTERM);
  bool reaped = false;
  for (int i = 0; i < 200 && !reaped; ++i) {  // 200 x 50 ms = 10 s
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (!reaped) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);  // SIGKILL cannot be ignored: returns promptly
  }
  pid_ = -1;
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
  return status;
}

}  // namespace lumbung::test

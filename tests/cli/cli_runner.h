// Runs the real `lumbung` / `lumbung-admin` binaries for the CLI end-to-end tests:
// fork/exec with stdin fed from a string and stdout/stderr captured, every wait bounded
// (a child still running at its deadline is killed), environment set per call.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lumbung::test {

struct CliResult {
  int exit = -1;  // exit status; 128+N if killed by signal N; -1 if it had to be killed
  std::string out;
  std::string err;
};

// A started child process with pipes to its stdin, stdout and stderr.
class Child {
 public:
  Child(const std::string& binary, const std::vector<std::string>& args,
        const std::vector<std::pair<std::string, std::string>>& env) {
    int in[2], out[2], err[2];
    if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
    signal(SIGPIPE, SIG_IGN);  // a child that exits before reading all its stdin
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) close(fd);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  void write_stdin(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(in_, text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  void close_stdin() {
    if (in_ >= 0) close(in_);
    in_ = -1;
  }

  // Reads stderr until a line containing `needle` arrives or `timeout_ms` passes; the text
  // read so far is kept in err_text. Returns whether the line was seen.
  bool wait_for_stderr(const std::string& needle, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (err_text.find(needle) != std::string::npos) return true;
      if (!pump(50)) break;
    }
    return err_text.find(needle) != std::string::npos;
  }

  // The same for stdout (e.g. a guided prompt), kept in out_text.
  bool wait_for_stdout(const std::string& needle, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (out_text.find(needle) != std::string::npos) return true;
      if (!pump(50)) break;
    }
    return out_text.find(needle) != std::string::npos;
  }

  // Waits (bounded) for the child to end, collecting its output. Kills it at the deadline.
  CliResult finish(int timeout_ms) {
    close_stdin();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    CliResult r;
    while (std::chrono::steady_clock::now() < deadline && (out_ >= 0 || err_ >= 0)) pump(100);
    int status = 0;
    for (;;) {
      const pid_t w = waitpid(pid_, &status, WNOHANG);
      if (w == pid_) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        r.exit = -1;
        r.out = out_text;
        r.err = err_text;
        return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = out_text;
    r.err = err_text;
    return r;
  }

  std::string out_text, err_text;

 private:
  // One poll round over stdout and stderr; false once both are closed.
  bool pump(int ms) {
    pollfd fds[2];
    int n = 0;
    if (out_ >= 0) fds[n++] = {out_, POLLIN, 0};
    if (err_ >= 0) fds[n++] = {err_, POLLIN, 0};
    if (n == 0) return false;
    if (poll(fds, static_cast<nfds_t>(n), ms) <= 0) return true;
    for (int i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      std::string& text = fds[i].fd == out_ ? out_text : err_text;
      if (got > 0) {
        text.append(buf, static_cast<size_t>(got));
      } else {
        if (fds[i].fd == out_) {
          close(out_);
          out_ = -1;
        } else {
          close(err_);
          err_ = -1;
        }
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
};

// Runs a binary to completion (at most `timeout_ms`) with `input` on stdin.
inline CliResult run_cli(const std::string& binary, const std::vector<std::string>& args,
                         const std::string& input = {},
                         const std::vector<std::pair<std::string, std::string>>& env = {},
                         int timeout_ms = 60000) {
  Child c(binary, args, env);
  c.write_stdin(input);
  return c.finish(timeout_ms);
}

}  // namespace lumbung::test

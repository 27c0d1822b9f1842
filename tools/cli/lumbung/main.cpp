// lumbung: the field officer's command-line tool. Enrols participants on a laptop that is
// offline for weeks and syncs with lumbung-server when a link appears.
// `lumbung help` is the reference; docs/CLI.md has the same text with examples.
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "common/exit_codes.h"
#include "common/i18n.h"
#include "common/output.h"
#include "laptop.h"
#include "lumbung/error.h"

using namespace lumbung;
using namespace lumbung::cli;

namespace {

int help(std::ostream& out) {
  out << tr("help.lumbung");
  return kExitOk;
}

int run(int argc, char** argv) {
  Args args(argc, argv);
  // Global options, anywhere on the line.
  choose_language(args.value("lang").value_or(""));
  Context ctx;
  ctx.home = Laptop::choose_home(args.value("home").value_or(""));
  ctx.server = args.value("server").value_or("");
  ctx.json = args.flag("json");
  set_passphrase_fd(args.value("passphrase-fd"));  // laptop.h "The passphrase"
  ctx.in = &std::cin;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  const bool want_help = args.flag("help") || args.flag("h");
  const std::string cmd = args.next();
  if (cmd.empty() || cmd == "help" || want_help) {
    if (cmd.empty() && !want_help) {
      help(std::cerr);
      return kExitUsage;
    }
    return help(std::cout);
  }
  if (cmd == "init") return cmd_init(ctx, args);
  if (cmd == "config") return cmd_config(ctx, args);
  if (cmd == "enrol" || cmd == "daftar") return cmd_enrol(ctx, args);
  if (cmd == "drafts" || cmd == "draf") return cmd_drafts(ctx, args);
  if (cmd == "list") return cmd_list(ctx, args);
  if (cmd == "search" || cmd == "cari") return cmd_search(ctx, args);
  if (cmd == "show") return cmd_show(ctx, args);
  if (cmd == "edit") return cmd_edit(ctx, args);
  if (cmd == "delete") return cmd_delete(ctx, args);
  if (cmd == "import-csv") return cmd_import_csv(ctx, args);
  if (cmd == "export-csv") return cmd_export_csv(ctx, args);
  if (cmd == "status") return cmd_status(ctx, args);
  if (cmd == "conflicts") return cmd_conflicts(ctx, args);
  if (cmd == "refused" || cmd == "ditolak") return cmd_refused(ctx, args);
  if (cmd == "sync") return cmd_sync(ctx, args);
  if (cmd == "token") return cmd_token(ctx, args);
  if (cmd == "attach" || cmd == "lampirkan") return cmd_attach(ctx, args);
  if (cmd == "open" || cmd == "buka") return cmd_open(ctx, args);
  throw Error(ErrorCode::kInvalidArgument, tr("usage.unknown_command", {{"cmd", cmd}}));
}

}  // namespace

namespace {
int main_impl(int argc, char** argv);
}

// The exit code is decided before static teardown, and the process leaves with _Exit:
// cpprestsdk's static thread pool may still be finishing a connect attempt to a server that
// is gone, and tearing it down under it can abort (seen under ASan as exit 134 after a sync
// that correctly gave up with exit 5). Every store was closed when its command returned.
int main(int argc, char** argv) {
  const int code = main_impl(argc, argv);
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(code);
}

namespace {
int main_impl(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    // The engine's and the server's words are English; the ones an officer meets are said
    // in the catalogue's language (a wrong passphrase, a revoked laptop, a status moved back).
    std::cerr << "lumbung: " << error_text(e) << "\n";
    if (e.code() == ErrorCode::kInvalidArgument) std::cerr << tr("usage.see_help") << "\n";
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    std::cerr << "lumbung: " << printable(e.what()) << "\n";
    return kExitError;
  }
}

}  // namespace

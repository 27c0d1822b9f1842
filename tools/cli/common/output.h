// Output helpers shared by both tools: aligned tables, times a person reads, values of
// record fields as text, and the one way JSON is printed for scripts (--json).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "lumbung/schema.h"

namespace lumbung::cli {

// Prints rows under headers with columns padded to the widest cell (UTF-8 aware).
// Cells longer than `max_width` characters are cut with "…".
void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows, size_t max_width = 40);

// Machine output: one JSON document, pretty-printed, newline-terminated.
void print_json(std::ostream& out, const Json& j);

// "2026-11-23 15:00 WIB": local time with its zone, the one form every time is printed in
// (issue 15 item 5). The zone is named from the machine's UTC offset at that moment: WIB
// (+7), WITA (+8), WIT (+9), else the offset ("UTC+05:30"). "-" for nullopt.
std::string local_time(std::optional<int64_t> ms);
// The zone name of a UTC offset in seconds, as local_time prints it.
std::string zone_label(long offset_seconds);
// A schema timestamp ("2026-11-23T08:00:00Z", UTC) in that form; other text as it is.
std::string local_timestamp(const std::string& iso_utc);
// "3 jam lalu" / "3 hours ago"; "-" for nullopt.
std::string time_ago(std::optional<int64_t> ms, int64_t now_ms);
// The current UTC time as the schema's timestamp form, "2026-11-23T08:00:00Z".
std::string utc_timestamp_now();
int64_t now_ms();

// A field value as one line of text: strings as they are, enum sets "JKK,JKM", numbers,
// other JSON compactly. null -> "".
std::string value_text(const Json& v);

// "1,2 MB" style byte counts.
std::string human_bytes(uint64_t bytes);

// Text from the server or from records (names, messages, labels), made safe to print on a
// terminal: control characters (C0, DEL, C1), Unicode bidi overrides and bytes that are not
// UTF-8 are shown as escapes (\n, \t, \x1b, \u202e, \xff); everything else, Indonesian and
// other accented letters included, is kept as it is. Tables (print_table) apply it to every
// cell; other printed lines call it for whatever did not come from the catalogue.
std::string printable(const std::string& s);

// Number of characters (code points) in UTF-8 text.
size_t utf8_width(const std::string& s);

// True if the stream is a terminal (progress bars draw in place only there).
bool is_terminal(int fd);

}  // namespace lumbung::cli

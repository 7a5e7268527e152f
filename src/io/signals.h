// What q-implant does when the process is interrupted or an input mapping faults.
//
// Output files in progress (io/atomic_file.h) register the names they have on disk; input
// mappings (io/mapped_file.h) register their address ranges. On SIGINT, SIGTERM or SIGHUP the
// handler removes every registered name and exits 130, 143 or 129 (128 + the signal, as shells
// report an interrupted command). A SIGBUS inside a registered mapping (the file was truncated by
// someone else while mapped) prints "<what> '<path>': the file changed while being read ...;
// nothing was written", removes the registered names and exits 1; a SIGBUS anywhere else is
// passed to whatever handler was there before. Handlers are installed on the first
// registration; a signal the process ignores (SIGHUP under nohup) stays ignored. Everything the
// handlers touch is preformatted at registration, so they only call write, unlink and _exit.
#pragma once

#include <cstddef>
#include <string>

namespace qimplant::signals {

// Installs the handlers (once; registering anything does it too).
void install();

// A name on disk that must not outlive an interruption; returns a token for unregister_path.
int register_path(const std::string& path);
void unregister_path(int token);

// A mapped input range and the message to print if it faults.
int register_mapping(const void* start, size_t size, const std::string& message);
void unregister_mapping(int token);
// The message registered for the mapping holding `address` (without the "q-implant: error: "
// prefix and the line end), or "" when none does: write(2) from a truncated mapping fails with
// EFAULT instead of raising SIGBUS, and the writer reports it with this.
std::string mapping_message(const void* address);

// Test hook: with QIMPLANT_TEST_PAUSE=<point>:<marker file> in the environment, the first time
// `point` is reached the marker file is created and the process waits (up to 60 s) until it is
// removed. Points: "create" (output created, nothing written), "write" (the first write of data
// done), "commit" (all data written, before the output is linked into place). No-op without the
// variable.
void test_pause(const char* point);

}  // namespace qimplant::signals

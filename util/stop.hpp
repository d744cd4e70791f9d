// A request to stop long work early, from outside the work (the Python module's Ctrl-C:
// its SIGINT handler sets it). Loops that can run long — training steps, retraining jobs —
// check it between steps and throw Interrupted; what they wrote so far (a journal) stays,
// so the same call resumes. The command itself never sets it: SIGINT ends the process.
#pragma once
#include "util/error.hpp"

namespace inflab::util {

void request_stop();
void clear_stop();
bool stop_requested();
// Throws Interrupted("<what> interrupted") when a stop was requested.
void throw_if_stopped(const char* what);

}  // namespace inflab::util

// Every primitive op's name. The tape refuses to record an op missing from this list, and
// the per-op test harness fails for any name here without a registered test case — so an
// op cannot exist untested.
#pragma once
#include <string>
#include <vector>

namespace inflab::ad {

const std::vector<std::string>& op_catalogue();
void require_catalogued(const char* op);  // throws Error for an unknown op name

}  // namespace inflab::ad

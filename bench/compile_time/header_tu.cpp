// Compile-time probe: what including the library costs a translation unit that uses nothing of
// it. bench/report times it beside the typed and dynamic probes.
#include <batch/batch.hpp>

int compile_time_header_probe() { return 0; }

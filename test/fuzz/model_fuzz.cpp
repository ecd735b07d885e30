// libFuzzer target: the input bytes choose a program (see ../model/: the same programs as
// the model test, drawn from bytes instead of a seed), which runs through both executors and
// the reference model. A disagreement prints the program and aborts; memory errors and
// undefined behaviour are caught by AddressSanitizer and UndefinedBehaviorSanitizer.
#include "../model/check.hpp"
#include "../model/source.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    model::byte_source src{data, size};
    auto const program = model::make_program(src);
    if (auto const v = model::check(program); !v.mismatch.empty()) {
        std::fprintf(stderr, "the executors and the model disagree:\n%s", v.mismatch.c_str());
        std::abort();
    }
    return 0;
}

// libFuzzer target for the .npy reader: the input is a file. The reader must either return a
// tensor or throw UserError; anything else (a crash, a sanitizer report, another exception, an
// allocation larger than the input) is a finding. What it accepts must survive a round trip
// through the writer unchanged, and cannot hold more values than the file has bytes for.
#include <cstdint>
#include <cstdlib>
#include <span>

#include <fmt/format.h>

#include "nnjit/error.hpp"
#include "nnjit/npy.hpp"

using namespace nnjit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    Tensor t;
    try {
        t = parse_npy(bytes, "fuzz.npy");
    } catch (const UserError&) {
        return 0;
    }
    const auto payload = static_cast<std::size_t>(t.shape().numel()) * dtype_size(t.dtype());
    if (payload > size) {
        fmt::print(stderr, "npy fuzzer finding: {} values of {} read from {} bytes\n", t.shape().numel(), t.dtype(), size);
        std::abort();
    }
    const Tensor again = parse_npy(encode_npy(t), "round trip");
    if (!bitwise_equal(t, again)) {
        fmt::print(stderr, "npy fuzzer finding: round trip changed the tensor: {} became {}\n", t, again);
        std::abort();
    }
    return 0;
}

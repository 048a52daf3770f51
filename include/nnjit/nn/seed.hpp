// Deriving independent random streams from one user seed: each layer's initialiser and each
// epoch's shuffle get their own seed, so changing one never shifts the others.
#pragma once

#include <cstdint>

namespace nnjit::nn {

// SplitMix64's finaliser: a bijective mix whose outputs for consecutive inputs are unrelated.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// The seed of stream `stream` under `seed`.
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
    return splitmix64(splitmix64(seed) ^ (stream * 0xD1B54A32D192ED03ull + 1));
}

}  // namespace nnjit::nn

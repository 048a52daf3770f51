// The Math of op_rules.hpp (and of vmath.hpp's low-level primitives) over LLVM IR: every
// value is an llvm::Value* vector of the host width, every operation emits the plain IEEE
// instruction ScalarMath performs on one number (no fast-math flags, fma only where the
// rule calls fma), so a kernel computes each lane bit for bit as the interpreter does.
// Transcendentals follow ScalarMath too: vmath's algorithms, emitted inline (no call in the
// loop). Included by codegen.cpp only: it pulls in LLVM headers.
#pragma once

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/IntrinsicsX86.h>
#include <llvm/IR/Module.h>

#include "nnjit/vmath.hpp"

namespace nnjit::jit {

struct LlvmMath {
    using Value = llvm::Value*;

    llvm::IRBuilder<>& b;
    llvm::Module& module;
    bool f64;
    unsigned lanes;
    llvm::Type* elem;         // float or double
    llvm::VectorType* vec;    // <lanes x elem>
    llvm::VectorType* ivec;   // <lanes x i32|i64>, same bits as vec

    LlvmMath(llvm::IRBuilder<>& builder, llvm::Module& m, bool is_double, unsigned lane_count)
        : b(builder), module(m), f64(is_double), lanes(lane_count),
          elem(is_double ? b.getDoubleTy() : b.getFloatTy()),
          vec(llvm::FixedVectorType::get(elem, lanes)),
          ivec(llvm::FixedVectorType::get(is_double ? b.getInt64Ty() : b.getInt32Ty(), lanes)) {}

    bool is_f64() const { return f64; }
    int mantissa_bits() const { return f64 ? 52 : 23; }
    int exponent_bias() const { return f64 ? 1023 : 127; }

    // Rounded to the element type as static_cast<T>(double) rounds (to nearest).
    Value c(double v) const { return llvm::ConstantFP::get(vec, v); }
    Value add(Value a, Value x) { return b.CreateFAdd(a, x); }
    Value sub(Value a, Value x) { return b.CreateFSub(a, x); }
    Value mul(Value a, Value x) { return b.CreateFMul(a, x); }
    Value div(Value a, Value x) { return b.CreateFDiv(a, x); }
    Value neg(Value a) { return b.CreateFNeg(a); }
    Value fma(Value a, Value x, Value y) { return intrinsic(llvm::Intrinsic::fma, {a, x, y}); }
    Value sqrt(Value a) { return intrinsic(llvm::Intrinsic::sqrt, {a}); }
    Value abs(Value a) { return intrinsic(llvm::Intrinsic::fabs, {a}); }
    Value copysign(Value a, Value s) { return intrinsic(llvm::Intrinsic::copysign, {a, s}); }
    // ScalarMath's a > b ? a : b, as x86's maxps/minps where the width has one: LLVM rewrites a
    // select on a compare of -|x| (sigmoid's argument) into compare-and-blend otherwise.
    Value max(Value a, Value x) { return min_max(a, x, true); }
    Value min(Value a, Value x) { return min_max(a, x, false); }
    // nearbyint in the default rounding mode: ties to even.
    Value round_int(Value a) { return intrinsic(llvm::Intrinsic::roundeven, {a}); }
    // a * 2^n, one rounding of the exact product (2^n is normal here). At 512 bits (AVX-512F is
    // then present) one vscalef, which rounds the same exact product: the same bits in one
    // instruction instead of five (measured no faster in tanh's loop: a zmm vscalef costs about
    // as much issue time as the integer build of 2^n and the multiply).
    Value scale2(Value a, Value n) { return is_512_bits() ? vscalef(a, n) : mul(a, pow2(to_int(n))); }
    // a * 2^n rounded once (see ScalarMath). At 512 bits one vscalef, which rounds the exact
    // product once as ScalarMath's two steps do: the same bits in ~2 instructions instead of ~10.
    Value scale2_wide(Value a, Value n) {
        if (is_512_bits()) return vscalef(a, n);
        Value i = to_int(n);
        Value h = b.CreateAShr(i, int_splat(1));
        return mul(mul(a, pow2(b.CreateSub(i, h))), pow2(h));
    }
    Value exponent(Value a) {
        Value biased = b.CreateLShr(b.CreateBitCast(a, ivec), int_splat(mantissa_bits()));
        return b.CreateSIToFP(b.CreateSub(biased, int_splat(exponent_bias())), vec);
    }
    Value mantissa(Value a) {
        const std::uint64_t mask = (std::uint64_t{1} << mantissa_bits()) - 1;
        const std::uint64_t one = static_cast<std::uint64_t>(exponent_bias()) << mantissa_bits();
        Value bits = b.CreateAnd(b.CreateBitCast(a, ivec), int_splat(mask));
        return b.CreateBitCast(b.CreateOr(bits, int_splat(one)), vec);
    }

    Value exp(Value a) { return vmath::exp(*this, a); }
    Value expm1(Value a) { return vmath::expm1(*this, a); }
    Value log(Value a) { return vmath::log(*this, a); }
    Value log1p(Value a) { return vmath::log1p(*this, a); }
    Value tanh(Value a) { return vmath::tanh(*this, a); }
    Value erfc(Value a) { return vmath::erfc(*this, a); }

    Value gt(Value a, Value x) { return b.CreateFCmpOGT(a, x); }
    Value lt(Value a, Value x) { return b.CreateFCmpOLT(a, x); }
    Value eq(Value a, Value x) { return b.CreateFCmpOEQ(a, x); }
    Value is_nan(Value a) { return b.CreateFCmpUNO(a, a); }
    Value mask_or(Value p, Value q) { return b.CreateOr(p, q); }
    Value select(Value mask, Value a, Value x) { return b.CreateSelect(mask, a, x); }

private:
    bool is_512_bits() const { return lanes * (f64 ? 64u : 32u) == 512; }

    Value vscalef(Value a, Value n) {
        const auto id = f64 ? llvm::Intrinsic::x86_avx512_mask_scalef_pd_512 : llvm::Intrinsic::x86_avx512_mask_scalef_ps_512;
        llvm::Value* all_lanes = f64 ? b.getInt8(0xff) : static_cast<llvm::Value*>(b.getInt16(0xffff));
        constexpr unsigned kCurrentRounding = 4;  // _MM_FROUND_CUR_DIRECTION: MXCSR's, round to nearest
        return b.CreateCall(llvm::Intrinsic::getDeclaration(&module, id),
                            {a, n, llvm::UndefValue::get(vec), all_lanes, b.getInt32(kCurrentRounding)});
    }

    // ScalarMath's to_int and pow2: an integral n's integer from the bits of n + shifter (fptosi
    // of a NaN would be poison), and 2^i from its bits.
    Value to_int(Value n) {
        const double shifter = f64 ? 0x1.8p52 : 0x1.8p23;
        return b.CreateSub(b.CreateBitCast(add(n, c(shifter)), ivec), b.CreateBitCast(c(shifter), ivec));
    }
    Value pow2(Value i) {
        return b.CreateBitCast(b.CreateShl(b.CreateAdd(i, int_splat(exponent_bias())), int_splat(mantissa_bits())), vec);
    }

    Value min_max(Value a, Value x, bool is_max) {
        using llvm::Intrinsic::ID;
        const unsigned bits = lanes * (f64 ? 64u : 32u);
        ID id = llvm::Intrinsic::not_intrinsic;
        if (bits == 512)
            id = f64 ? (is_max ? llvm::Intrinsic::x86_avx512_max_pd_512 : llvm::Intrinsic::x86_avx512_min_pd_512)
                     : (is_max ? llvm::Intrinsic::x86_avx512_max_ps_512 : llvm::Intrinsic::x86_avx512_min_ps_512);
        else if (bits == 256)
            id = f64 ? (is_max ? llvm::Intrinsic::x86_avx_max_pd_256 : llvm::Intrinsic::x86_avx_min_pd_256)
                     : (is_max ? llvm::Intrinsic::x86_avx_max_ps_256 : llvm::Intrinsic::x86_avx_min_ps_256);
        else if (bits == 128)
            id = f64 ? (is_max ? llvm::Intrinsic::x86_sse2_max_pd : llvm::Intrinsic::x86_sse2_min_pd)
                     : (is_max ? llvm::Intrinsic::x86_sse_max_ps : llvm::Intrinsic::x86_sse_min_ps);
        if (id == llvm::Intrinsic::not_intrinsic) return select(is_max ? gt(a, x) : lt(a, x), a, x);
        std::vector<Value> args{a, x};
        if (bits == 512) args.push_back(b.getInt32(4));  // _MM_FROUND_CUR_DIRECTION
        return b.CreateCall(llvm::Intrinsic::getDeclaration(&module, id), args);
    }

    Value int_splat(std::uint64_t v) const { return llvm::ConstantInt::get(ivec, v); }
    Value int_splat(int v) const { return llvm::ConstantInt::get(ivec, static_cast<std::uint64_t>(v), true); }

    Value intrinsic(llvm::Intrinsic::ID id, llvm::ArrayRef<Value> args) {
        return b.CreateCall(llvm::Intrinsic::getDeclaration(&module, id, {vec}), args);
    }
};

}  // namespace nnjit::jit

// generate_kernel(): one KernelSpec becomes one function
//
//   for row in [row_begin, row_end):             offsets of every operand from the row index
//     for col in steps of VW while col+VW <= end: the instructions on V full vectors, interleaved
//     while col < end, in steps of W:            one vector with a lane mask (masked loads/stores)
//     add the row's vector accumulators into the float64 buffers
//
// A max or min is taken as a sum is added, with llvm.maximum / llvm.minimum in place of the
// addition (IEEE 754-2019: NaN wins, +0 is above -0, the interpreter's rule) and the
// infinity of the other sign in place of 0 for the lanes outside the mask; in registers it
// stays in the dtype (exact), combined as a tree over the vectors of an iteration, and so does
// a float32 max or min per column over the rows, in a float32 row on the stack.
//
// Counts (sums of a 0/1 comparison, see Accumulation) are added as integers. A count per
// column over the rows (a per-unit count over a batch) is kept in 8-bit counters in a row on
// the stack; a max per column of a 0/1 comparison (whether any row of a unit's column is
// counted) in one bit per column, or-ed in. Scratch rows are combined into their buffer every
// kCountRowBlock rows, bits after the last (scratch_rows()). A max of a comparison's buffer
// holds bytes (KernelSpec::is_any), or-ed into.
//
// The per-element instructions come from op_rules.hpp instantiated over LlvmMath, so the
// loop body is the interpreter's arithmetic, W lanes at a time.
#include "codegen.hpp"

#include <llvm/Analysis/VectorUtils.h>
#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Function.h>

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "fp_flags.hpp"
#include "kernel_function.hpp"
#include "llvm_math.hpp"
#include "nnjit/error.hpp"
#include "nnjit/op_rules.hpp"

namespace nnjit::jit {
namespace {

using llvm::Value;

template <class R, std::size_t... I>
Value* apply_rule(LlvmMath& m, const std::vector<Value*>& a, double alpha, std::index_sequence<I...>) {
    if constexpr (rules::takes_alpha<R>) return R::forward(m, a[I]..., alpha);
    else return R::forward(m, a[I]...);
}

Value* emit_op(LlvmMath& m, Op op, const std::vector<Value*>& args, double alpha) {
    switch (op) {
#define NNJIT_ELEMENTWISE(Name, name, arity)                                                                   \
    case Op::Name: return apply_rule<rules::Name>(m, args, alpha, std::make_index_sequence<arity>{});
#include "nnjit/ops.def"
    default: break;
    }
    throw InternalError(fmt::format("codegen: {} is not elementwise", op_name(op)));
}

// How a reduction adds up its values in the generated loop.
//  float_register: a float64 vector register over the row (accumulator inner stride 0),
//                  added to the buffer at the row's end;
//  float_memory:   the float64 buffer itself (inner stride 1): per vector, a load, two
//                  conversions, two adds and two stores -- more than a ReLU costs;
//  count_total:    a counter (its value is a 0/1 comparison, is_counter) over the row: the
//                  popcount of the comparison's lane mask, into a 64-bit integer register;
//  count_columns:  a counter per column over the rows (the same buffer for every row): an
//                  8-bit integer per column in a scratch row on the stack, one byte-vector add
//                  per iteration of the vector loop (its vectors' masks side by side), added to
//                  the buffer every kCountRowBlock rows;
//  extreme_columns: a float32 max or min per column over the rows: as count_columns, a
//                  scratch row on the stack, here of float32 (one load, max and store per
//                  vector, where the float64 buffer costs two of each and two conversions),
//                  combined into the buffer every kCountRowBlock rows;
//  any_columns:    a max per column over the rows of a 0/1 comparison (the diagnostics' active
//                  units): one bit per column in a scratch row on the stack, the iteration's
//                  lane masks side by side or-ed into it (a mask move and an integer or to
//                  memory per 64 columns, where a count_columns byte add costs a mask-to-bytes
//                  move, a 64-byte add and a store on the vector pipes: sigmoid's probed
//                  kernel ~2 points cheaper, Zen 5), combined into the buffer after the
//                  rows; a max beside a relu-mask count is a count_columns
//                  instead (relu_mask_counts: its zeros come from the counts);
//  count_rare_zeros: a count_total of equal(a, 0) where a is stored, never negative, and 0
//                  only where its input underflows (sigmoid, exp, softplus: rarely_zero_store).
//                  The loop does nothing for it: a 0 there comes out of an operation that
//                  rounds a nonzero result to 0, which sets MXCSR's underflow flag (x86: a tiny
//                  and inexact result), so only a group of rows after which the flag is set is
//                  counted, from its stored values (rare_zeros_after_rows). The count used to
//                  be a min of the input per vector and a test of it per row: sigmoid's zero
//                  count alone cost +8% / +5% (128x256 / 128x1024 kernels, Zen 5), +1% / +2%
//                  with the flag read after each row.
// Counts are integers, added as integers and stored as float64 integers (exact below 2^53),
// so they come out the same whatever the order and the split into chunks; so do maxima and
// minima, exact in float64, and the 0/1 bytes of a max of a comparison.
enum class Accumulation {
    float_register,
    float_memory,
    count_total,
    count_columns,
    any_columns,
    extreme_columns,
    count_rare_zeros
};

bool in_scratch_row(Accumulation a) {
    return a == Accumulation::count_columns || a == Accumulation::any_columns || a == Accumulation::extreme_columns;
}

// Rows between two additions of the 8-bit column counts to the buffer: at most 255 per count.
constexpr std::int64_t kCountRowBlock = 255;
// Elements between two reads of the underflow flag (underflow_check_rows).
constexpr std::int64_t kUnderflowCheckElements = 8192;
// The longest row whose column counts or float32 extrema are kept on the stack (a scratch row
// of 16 KiB or 64 KiB each); longer rows use the float64 buffer.
constexpr std::int64_t kMaxCountedRow = std::int64_t{1} << 14;

const KernelSpec::Instr& instr_at(const KernelSpec& spec, int k) { return spec.instrs[static_cast<std::size_t>(k)]; }
bool is_zero_constant(const KernelSpec& spec, int k) {
    return instr_at(spec, k).kind == KernelSpec::Instr::Kind::constant && instr_at(spec, k).value == 0;
}
bool is_op(const KernelSpec& spec, int k, Op op) {
    return instr_at(spec, k).kind == KernelSpec::Instr::Kind::op && instr_at(spec, k).op == op;
}

// A sum of a comparison: a count.
bool is_counter(const KernelSpec& spec, const KernelSpec::Reduction& r) {
    return r.combine == Op::Sum && spec.is_indicator(r);
}

// Whether instruction k depends on a load that changes along the row: then its arithmetic runs
// per element in the vector loop, where LLVM cannot hoist it out of the row (the underflow flag
// of count_rare_zeros is read after each group of rows).
bool varies_along_row(const KernelSpec& spec, int k) {
    std::vector<bool> varies(static_cast<std::size_t>(k) + 1);  // instructions use earlier ones only
    for (std::size_t i = 0; i < varies.size(); ++i) {
        const auto& in = spec.instrs[i];
        varies[i] = in.kind == KernelSpec::Instr::Kind::load
                        ? spec.operands[static_cast<std::size_t>(in.operand)].back() != 0
                        : std::any_of(in.args.begin(), in.args.end(), [&](int a) { return varies[static_cast<std::size_t>(a)]; });
    }
    return varies.back();
}

// For a count of equal(a, 0) (either side) where a is stored, never negative (or NaN) and 0
// only where its input underflows: the index of a's store; otherwise -1.
int rarely_zero_store(const KernelSpec& spec, const KernelSpec::Reduction& r) {
    const auto& eq = instr_at(spec, r.value);
    if (!is_counter(spec, r) || eq.op != Op::Equal) return -1;
    const int a = is_zero_constant(spec, eq.args[1]) ? eq.args[0] : is_zero_constant(spec, eq.args[0]) ? eq.args[1] : -1;
    if (a < 0 || !(is_op(spec, a, Op::Sigmoid) || is_op(spec, a, Op::Exp) || is_op(spec, a, Op::Softplus))) return -1;
    if (!varies_along_row(spec, instr_at(spec, a).args[0])) return -1;
    const auto at = std::find(spec.stores.begin(), spec.stores.end(), a);
    return at == spec.stores.end() ? -1 : static_cast<int>(at - spec.stores.begin());
}

// For a count (or any) of greater(u, 0) where relu(u) is stored: the index of that store;
// otherwise -1. Such a count may take relu's own comparison, u > 0 or NaN (see relu_mask_counts).
int relu_counted_store(const KernelSpec& spec, const KernelSpec::Reduction& r) {
    const auto& gt = instr_at(spec, r.value);
    if (!(is_counter(spec, r) || spec.is_any(r)) || gt.op != Op::Greater || !is_zero_constant(spec, gt.args[1])) return -1;
    for (std::size_t s = 0; s < spec.stores.size(); ++s)
        if (is_op(spec, spec.stores[s], Op::Relu) && instr_at(spec, spec.stores[s]).args[0] == gt.args[0])
            return static_cast<int>(s);
    return -1;
}

// For a count of equal(relu(u), 0) over the whole kernel (every accumulator stride 0): the
// relu's instruction index; otherwise -1.
int counted_relu_zeros(const KernelSpec& spec, const KernelSpec::Reduction& r) {
    const auto& eq = instr_at(spec, r.value);
    if (!is_counter(spec, r) || eq.op != Op::Equal || !is_zero_constant(spec, eq.args[1])) return -1;
    if (std::any_of(r.acc_strides.begin(), r.acc_strides.end(), [](std::int64_t s) { return s != 0; })) return -1;
    return is_op(spec, eq.args[0], Op::Relu) ? eq.args[0] : -1;
}

Accumulation accumulation_of(const KernelSpec& spec, const KernelSpec::Reduction& r) {
    const auto& s = r.acc_strides;
    if (s.back() == 0) {
        if (!is_counter(spec, r)) return Accumulation::float_register;
        const bool rare_zeros = rarely_zero_store(spec, r) >= 0 && fp_flags_work();
        return rare_zeros ? Accumulation::count_rare_zeros : Accumulation::count_total;
    }
    const bool same_for_every_row = std::all_of(s.begin(), s.end() - 1, [](std::int64_t x) { return x == 0; });
    const bool scratch = same_for_every_row && spec.dims.size() > 1 && spec.row_length() <= kMaxCountedRow;
    if (scratch && is_counter(spec, r)) return Accumulation::count_columns;
    if (scratch && spec.is_any(r))  // counted where relu's compare gives the zeros too
        return relu_counted_store(spec, r) >= 0 && fp_flags_work() ? Accumulation::count_columns
                                                                   : Accumulation::any_columns;
    if (scratch && r.combine != Op::Sum && spec.dtype == DType::f32) return Accumulation::extreme_columns;
    return Accumulation::float_memory;
}

// ---- clamps that cannot change their operand ----
//
// vmath's float32 exp clamps its argument with x86 max and min (LlvmMath::max/min, opaque to
// LLVM); sigmoid and softplus call it on -|x|, which is never above 0, and tanh on 2|x|, never
// below 0, so one side of the clamp can never change the value: each such min or max is a
// dependent instruction on the critical path (~2 cycles) and an instruction on Zen 4's add
// pipes, per exp. Dropping it is exact: x86's min(c, v) = c < v ? c : v is v whenever v <= 0
// (either zero) or NaN and c >= 0, and max(c, v) = c > v ? c : v is v whenever v >= 0 or NaN
// and c <= 0. The signs come from the instructions that made v (fabs, fneg, adds and products
// of known signs, ...); NaN is allowed in every class.
enum class Sign { nonneg, nonpos, unknown };

Sign flip(Sign s) { return s == Sign::nonneg ? Sign::nonpos : s == Sign::nonpos ? Sign::nonneg : Sign::unknown; }
Sign same_or_unknown(Sign a, Sign b) { return a == b ? a : Sign::unknown; }

bool is_x86_min(llvm::Intrinsic::ID id) {
    return id == llvm::Intrinsic::x86_avx512_min_ps_512 || id == llvm::Intrinsic::x86_avx512_min_pd_512 ||
           id == llvm::Intrinsic::x86_avx_min_ps_256 || id == llvm::Intrinsic::x86_avx_min_pd_256 ||
           id == llvm::Intrinsic::x86_sse_min_ps || id == llvm::Intrinsic::x86_sse2_min_pd;
}
bool is_x86_max(llvm::Intrinsic::ID id) {
    return id == llvm::Intrinsic::x86_avx512_max_ps_512 || id == llvm::Intrinsic::x86_avx512_max_pd_512 ||
           id == llvm::Intrinsic::x86_avx_max_ps_256 || id == llvm::Intrinsic::x86_avx_max_pd_256 ||
           id == llvm::Intrinsic::x86_sse_max_ps || id == llvm::Intrinsic::x86_sse2_max_pd;
}

Sign sign_of(llvm::Value* v, int depth = 0) {
    using llvm::Instruction;
    if (auto* c = llvm::dyn_cast<llvm::Constant>(v)) {
        auto* f = llvm::dyn_cast_or_null<llvm::ConstantFP>(c->getType()->isVectorTy() ? c->getSplatValue() : c);
        if (!f || f->isNaN()) return Sign::unknown;
        if (f->isZero()) return Sign::nonneg;  // either zero is both; nonneg is enough here
        return f->isNegative() ? Sign::nonpos : Sign::nonneg;
    }
    auto* in = llvm::dyn_cast<Instruction>(v);
    if (!in || depth > 8) return Sign::unknown;
    auto arg = [&](unsigned k) { return sign_of(in->getOperand(k), depth + 1); };
    switch (in->getOpcode()) {
    case Instruction::FNeg: return flip(arg(0));
    case Instruction::FAdd: return same_or_unknown(arg(0), arg(1));
    case Instruction::FMul:
    case Instruction::FDiv: {
        const Sign a = arg(0), b = arg(1);
        if (a == Sign::unknown || b == Sign::unknown) return Sign::unknown;
        return a == b ? Sign::nonneg : Sign::nonpos;
    }
    case Instruction::Select: return same_or_unknown(arg(1), arg(2));
    case Instruction::Call: {
        auto* call = llvm::cast<llvm::CallInst>(in);
        const llvm::Intrinsic::ID id = call->getIntrinsicID();
        if (id == llvm::Intrinsic::fabs || id == llvm::Intrinsic::sqrt) return Sign::nonneg;
        // min(a, b) = a < b ? a : b: b, or an a below b. max(a, b) likewise.
        if (is_x86_min(id)) {
            const Sign a = arg(0), b = arg(1);
            return b == Sign::nonpos ? Sign::nonpos : same_or_unknown(a, b);
        }
        if (is_x86_max(id)) {
            const Sign a = arg(0), b = arg(1);
            return b == Sign::nonneg ? Sign::nonneg : same_or_unknown(a, b);
        }
        return Sign::unknown;
    }
    default: return Sign::unknown;
    }
}

// The constant c of min(c, v) or max(c, v) when it is a splat, as a double.
std::optional<double> splat_value(llvm::Value* v) {
    auto* c = llvm::dyn_cast<llvm::Constant>(v);
    if (!c || !c->getType()->isVectorTy()) return std::nullopt;
    auto* f = llvm::dyn_cast_or_null<llvm::ConstantFP>(c->getSplatValue());
    if (!f || f->isNaN()) return std::nullopt;
    return f->getValueAPF().convertToDouble();
}

void drop_idle_clamps(llvm::Function& fn) {
    std::vector<llvm::CallInst*> idle;
    for (llvm::BasicBlock& bb : fn)
        for (llvm::Instruction& in : bb) {
            auto* call = llvm::dyn_cast<llvm::CallInst>(&in);
            if (!call) continue;
            const llvm::Intrinsic::ID id = call->getIntrinsicID();
            if (!is_x86_min(id) && !is_x86_max(id)) continue;
            const std::optional<double> c = splat_value(call->getArgOperand(0));
            if (!c) continue;
            const Sign v = sign_of(call->getArgOperand(1));
            if ((is_x86_min(id) && *c >= 0 && v == Sign::nonpos) || (is_x86_max(id) && *c <= 0 && v == Sign::nonneg))
                idle.push_back(call);
        }
    for (llvm::CallInst* call : idle) {
        call->replaceAllUsesWith(call->getArgOperand(1));
        call->eraseFromParent();
    }
}

class KernelBuilder {
public:
    KernelBuilder(llvm::LLVMContext& context, const KernelSpec& spec, const std::string& name, unsigned vector_bits)
        : ctx_(context), spec_(spec), module_(std::make_unique<llvm::Module>(name, context)), b_(context),
          lanes_(vector_bits / (spec.dtype == DType::f64 ? 64u : 32u)),
          // Four vector chains need about 24 registers for sigmoid: AVX-512 has 32, AVX2 16.
          vectors_per_iteration_(vector_bits == 512 ? 4 : 2),
          m_(b_, *module_, spec.dtype == DType::f64, lanes_) {
        i64_ = b_.getInt64Ty();
        ptr_ = b_.getPtrTy();
        dvec_ = llvm::FixedVectorType::get(b_.getDoubleTy(), lanes_);
        esize_ = llvm::Align(dtype_size(spec.dtype));
        fn_ = create_kernel_function(*module_, name, vector_bits);
        for (const auto& r : spec.reductions) acc_.push_back(accumulation_of(spec, r));
    }

    std::unique_ptr<llvm::Module> build() {
        auto arg = fn_->arg_begin();
        Value* args = &*arg++;
        Value* row_begin = &*arg++;
        Value* row_end = &*arg++;
        col_begin_ = &*arg++;
        col_end_ = &*arg++;

        auto* entry = block("entry");
        b_.SetInsertPoint(entry);
        const std::size_t n_ops = spec_.operands.size(), n_out = spec_.stores.size();
        auto load_arg = [&](std::size_t k) {
            return b_.CreateLoad(ptr_, b_.CreateConstGEP1_64(ptr_, args, static_cast<std::uint64_t>(k)));
        };
        for (std::size_t k = 0; k < n_ops; ++k) op_base_.push_back(load_arg(k));
        for (std::size_t k = 0; k < n_out; ++k) out_base_.push_back(load_arg(n_ops + k));
        for (std::size_t k = 0; k < spec_.reductions.size(); ++k) acc_base_.push_back(load_arg(n_ops + n_out + k));
        start_flag_watch(relu_counted_columns() && fp_flags_work());
        if (std::any_of(acc_.begin(), acc_.end(), in_scratch_row)) scratch_rows(row_begin, row_end);
        else rows(row_begin, row_end);
        end_flag_watch();
        b_.CreateRetVoid();
        drop_idle_clamps(*fn_);
        return verified(std::move(module_), spec_);
    }

private:
    llvm::LLVMContext& ctx_;
    const KernelSpec& spec_;
    std::unique_ptr<llvm::Module> module_;
    llvm::IRBuilder<> b_;
    unsigned lanes_;
    std::uint64_t vectors_per_iteration_;  // of the vector loop, see inner_loop
    LlvmMath m_;
    llvm::Type* i64_;
    llvm::Type* ptr_;
    llvm::VectorType* dvec_;
    llvm::Align esize_;
    llvm::Function* fn_;
    Value* col_begin_ = nullptr;
    Value* col_end_ = nullptr;
    std::vector<Value*> op_base_, out_base_, acc_base_;
    std::vector<Value*> op_row_, out_row_, acc_row_;
    std::vector<Value*> hoisted_;  // per operand: its splat when the row reads one element
    std::vector<Accumulation> acc_;  // per reduction
    std::vector<Value*> scratch_;    // per reduction: its scratch row when in_scratch_row

    llvm::BasicBlock* block(const llvm::Twine& name) { return llvm::BasicBlock::Create(ctx_, name, fn_); }

    std::int64_t inner_stride(const std::vector<std::int64_t>& strides) const { return strides.back(); }

    // for (i = first; i < last; i = next): `body(i, carried)` emits the loop body and returns
    // {next, carried values for the next iteration}; the values carried start as `start`.
    // Returns their values after the loop, with the insertion point there.
    template <class Body>
    std::vector<Value*> carried_loop(const char* name, Value* first, Value* last, const std::vector<Value*>& start,
                                     const Body& body) {
        auto* pre = b_.GetInsertBlock();
        auto* head = block(name);
        auto* body_block = block(llvm::Twine(name) + ".body");
        auto* exit = block(llvm::Twine(name) + ".end");
        b_.CreateBr(head);

        b_.SetInsertPoint(head);
        auto* i = b_.CreatePHI(i64_, 2, name);
        i->addIncoming(first, pre);
        std::vector<llvm::PHINode*> carried;
        for (Value* s : start) {
            carried.push_back(b_.CreatePHI(s->getType(), 2));
            carried.back()->addIncoming(s, pre);
        }
        b_.CreateCondBr(b_.CreateICmpSLT(i, last), body_block, exit);

        b_.SetInsertPoint(body_block);
        const auto [next, next_carried] = body(static_cast<Value*>(i), std::vector<Value*>(carried.begin(), carried.end()));
        i->addIncoming(next, b_.GetInsertBlock());
        for (std::size_t k = 0; k < carried.size(); ++k) carried[k]->addIncoming(next_carried[k], b_.GetInsertBlock());
        b_.CreateBr(head);

        b_.SetInsertPoint(exit);
        return std::vector<Value*>(carried.begin(), carried.end());
    }

    // for (i = first; i < last; i = body(i)): `body` emits the loop body for index i and
    // returns the next index; ends with the insertion point after the loop.
    template <class Body> void counted_loop(const char* name, Value* first, Value* last, const Body& body) {
        carried_loop(name, first, last, {}, [&](Value* i, const std::vector<Value*>& none) {
            return std::pair{body(i), none};
        });
    }

    // body(block_first, block_last) for [first, last) in blocks of `size` (the last one shorter);
    // ends with the insertion point after them.
    template <class Body>
    void in_blocks(const char* name, Value* first, Value* last, std::int64_t size, const Body& body) {
        counted_loop(name, first, last, [&](Value* block_first) {
            auto* block_last = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                                        b_.CreateAdd(block_first, b_.getInt64(size)), last);
            body(block_first, block_last);
            return block_last;
        });
    }

    // The loop over rows [first, last); ends with the insertion point after it. A kernel that
    // counts rare zeros runs them in groups of underflow_check_rows(), each followed by the
    // check (rare_zeros_after_rows).
    void rows(Value* first, Value* last) {
        if (!counts_rare_zeros()) return each_row(first, last);
        in_blocks("zeros.group", first, last, underflow_check_rows(), [&](Value* group, Value* end) {
            each_row(group, end);
            rare_zeros_after_rows(group, end);
        });
    }

    void each_row(Value* first, Value* last) {
        counted_loop("row", first, last, [&](Value* row) {
            row_pointers(row);
            auto* row_done = spec_.streaming_stores ? streaming_or_plain() : inner_loop(false);
            b_.SetInsertPoint(row_done);
            return b_.CreateAdd(row, b_.getInt64(1));
        });
    }

    // The rows of a kernel with per-column reductions kept in scratch rows (count_columns,
    // any_columns, extreme_columns), in blocks of kCountRowBlock:
    //
    //   scratch[col_begin, col_end) = start            8-bit counts and bits from 0, extrema
    //                                                  from their identity
    //   for blocks of rows in [row_begin, row_end):
    //     the rows of the block (counts[col..col+W) -= comparison, counted down mod 256;
    //                            bits[col..col+VW) |= comparison;
    //                            extrema[col..col+W) = max(extrema, value) in float32)
    //     (relu-mask counts: the NaN lanes taken back)
    //     buffer[col] += -counts[col] (a max: byte |= counts[col] != 0; max(buffer,
    //     extrema)); scratch[col] = start (relu-mask counts: the zeros from the counts)
    //   byte[col] |= bits[col]                         bits never overflow: added once
    //
    // A float64 buffer costs a load, two conversions, two adds and two stores per vector of
    // 16 lanes (the float64 lanes are twice as wide); the bytes cost the masks' joins (three
    // `kunpck` per four vectors), a mask-to-bytes move, a 64-byte add with the load folded in
    // and a store, the float32 extrema a load, a max and a store, and the buffer is touched
    // once a block.
    //
    // The rows are loops, as in a kernel without counts. (Until 2026-11-29 a light loop whose
    // counts fit in registers had its rows unrolled whole, the counts carried in registers from
    // row to row; on Zen 5 that unrolled row streamed from L2 and L3 slower than the loop, the
    // same row without counts too: the probed ReLU kernels took +9% / +11% over the plain ones
    // at 1024x1024 / 128x1024 that way, +2% / +7% with the scratch row; docs/relu-story.md.)
    void scratch_rows(Value* row_begin, Value* row_end) {
        const auto length = static_cast<std::uint64_t>(spec_.row_length());
        // In the entry block, a fixed part of the frame (elsewhere, a dynamic one: a base
        // register taken from the loops).
        llvm::IRBuilder<> entry(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
        for (Accumulation a : acc_) {
            if (!in_scratch_row(a)) {
                scratch_.push_back(nullptr);
                continue;
            }
            const bool bits = a == Accumulation::any_columns;
            llvm::Type* elem = a == Accumulation::extreme_columns ? m_.elem : b_.getInt8Ty();
            auto* row = entry.CreateAlloca(llvm::ArrayType::get(elem, bits ? bit_row_bytes() : length), nullptr, "scratch");
            row->setAlignment(llvm::Align(64));
            scratch_.push_back(row);
        }
        each_column_vector([&](Value* col, Value* mask) {
            for (std::size_t r = 0; r < scratch_.size(); ++r)
                if (scratch_[r] && acc_[r] != Accumulation::any_columns) store_scratch(r, scratch_start(r), col, mask);
        });
        clear_bit_rows();
        choose_relu_mask_counts();
        in_blocks("scratch.block", row_begin, row_end, kCountRowBlock, [&](Value* first, Value* last) {
            rows(first, last);
            take_nan_hits_back(first, last);
            add_block_to_buffers(first, last);
        });
        add_bits_to_buffers();
    }

    // ---- bits per column (any_columns) ----
    //
    // Column col_begin + i is bit i % 64 of the 64-bit word at byte 64 (i / 64) of the scratch
    // row: a word per cache line, so that the word's address is the row's plus col - col_begin,
    // with no shift of col per iteration. The iteration's columns [col, col + VW) start VW apart
    // from col_begin, and the rest's W apart, and both divide 64, so their bits never straddle
    // two words.

    std::uint64_t bit_row_bytes() const { return (static_cast<std::uint64_t>(spec_.row_length()) + 63) / 64 * 64; }

    void clear_bit_rows() {
        for (std::size_t r = 0; r < acc_.size(); ++r)
            if (acc_[r] == Accumulation::any_columns)
                b_.CreateMemSet(scratch_[r], b_.getInt8(0), bit_row_bytes(), llvm::Align(64));
    }

    // The word of scratch row r that holds column col's bit, and the bit's place in it.
    // `whole_word`: col is a multiple of 64 from col_begin.
    std::pair<Value*, Value*> bit_of_column(std::size_t r, Value* col, bool whole_word = false) {
        Value* bit = b_.CreateSub(col, col_begin_);
        Value* word_byte = whole_word ? bit : b_.CreateAnd(bit, b_.getInt64(~std::uint64_t{63}));
        return {b_.CreateGEP(b_.getInt8Ty(), scratch_[r], word_byte), b_.CreateAnd(bit, b_.getInt64(63))};
    }

    // bits[col, col + n) |= lanes, n lanes side by side (n divides 64).
    void or_bits(std::size_t r, Value* lanes, Value* col) {
        const auto n = llvm::cast<llvm::FixedVectorType>(lanes->getType())->getNumElements();
        const auto [word, shift] = bit_of_column(r, col, n == 64);
        Value* bits = b_.CreateZExt(b_.CreateBitCast(lanes, b_.getIntNTy(n)), i64_);
        if (n < 64) bits = b_.CreateShl(bits, shift);  // a whole word starts at a multiple of 64
        b_.CreateAlignedStore(b_.CreateOr(b_.CreateAlignedLoad(i64_, word, llvm::Align(8)), bits), word, llvm::Align(8));
    }

    // After all the rows: each bit row into its buffer (bits cannot overflow, so they are
    // or-ed over every block and added once).
    void add_bits_to_buffers() {
        if (std::find(acc_.begin(), acc_.end(), Accumulation::any_columns) == acc_.end()) return;
        each_column_vector([&](Value* col, Value* mask) {
            for (std::size_t r = 0; r < acc_.size(); ++r)
                if (acc_[r] == Accumulation::any_columns)
                    combine_lanes_into_buffer(r, acc_base_[r], col, mask, load_bits(r, col));
        });
    }

    // The bits of the W columns at col, as 1-bit lanes.
    Value* load_bits(std::size_t r, Value* col) {
        const auto [word, shift] = bit_of_column(r, col);
        Value* bits = b_.CreateTrunc(b_.CreateLShr(b_.CreateAlignedLoad(i64_, word, llvm::Align(8)), shift),
                                     b_.getIntNTy(lanes_));
        return b_.CreateBitCast(bits, llvm::FixedVectorType::get(b_.getInt1Ty(), lanes_));
    }

    // After the block of rows [first, last): each scratch row but the bits (add_bits_to_buffers)
    // added to its buffer (a max of a comparison: whether any row was counted) and started
    // again, and each zeros count taken from column counts (zeros_from_counts) added, the
    // block's elements less those counts.
    void add_block_to_buffers(Value* first, Value* last) {
        // The column counts' sums, per lane, for those zeros counts.
        llvm::IRBuilder<> entry(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
        std::vector<llvm::AllocaInst*> hits(acc_.size(), nullptr);
        for (std::size_t r = 0; r < acc_.size(); ++r) {
            if (!zeros_from_counts(r)) continue;
            hits[r] = entry.CreateAlloca(count_lanes_type());
            b_.CreateStore(llvm::Constant::getNullValue(count_lanes_type()), hits[r]);
        }
        each_column_vector([&](Value* col, Value* mask) {
            for (std::size_t r = 0; r < scratch_.size(); ++r) {
                if (!scratch_[r] || acc_[r] == Accumulation::any_columns) continue;
                const Op op = spec_.reductions[r].combine;
                Value* block_result = load_scratch(r, col, mask);
                if (acc_[r] == Accumulation::count_columns) {
                    Value* counts = b_.CreateZExt(b_.CreateNeg(block_result), count_lanes_type());  // see emit_accumulation
                    // A max (byte_buffer): whether a row was counted, whatever the count.
                    combine_lanes_into_buffer(r, acc_base_[r], col, mask,
                                              op == Op::Max ? b_.CreateICmpNE(block_result, scratch_start(r)) : counts);
                    for (std::size_t z = 0; z < acc_.size(); ++z)
                        if (hits[z] && static_cast<std::size_t>(zeros_source_[z]) == r)
                            b_.CreateStore(b_.CreateAdd(b_.CreateLoad(count_lanes_type(), hits[z]), counts), hits[z]);
                } else {
                    combine_lanes_into_buffer(r, acc_base_[r], col, mask, b_.CreateFPExt(block_result, dvec_));
                }
                store_scratch(r, scratch_start(r), col, mask);
            }
        });
        for (std::size_t r = 0; r < acc_.size(); ++r) {
            if (!hits[r]) continue;
            Value* counted = b_.CreateZExt(b_.CreateAddReduce(b_.CreateLoad(count_lanes_type(), hits[r])), i64_);
            Value* elements = b_.CreateMul(b_.CreateSub(last, first), b_.CreateSub(col_end_, col_begin_));
            combine_into_buffer(r, acc_base_[r], b_.CreateSub(elements, counted));
        }
    }

    // After the rows [first, last), before their relu-mask counts are added to the buffers:
    // their NaN lanes, counted from the stored activations when relu's compare raised the
    // invalid flag ("MXCSR's sticky flags as guards"), taken out of the scratch rows (and out of
    // the zeros taken from them, which count those lanes as not zero: relu(NaN) is NaN).
    void take_nan_hits_back(Value* first, Value* last) {
        if (std::none_of(relu_mask_store_.begin(), relu_mask_store_.end(), [](int s) { return s >= 0; })) return;
        Value* mxcsr = read_mxcsr();
        only_if(raised(mxcsr, kMxcsrInvalidFlag), "counts.nan", [&] {
            counted_loop("nan.row", first, last, [&](Value* row) {
                row_pointers(row);
                each_column_vector([&](Value* col, Value* mask) {
                    for (std::size_t r = 0; r < acc_.size(); ++r) {
                        if (!relu_mask_counts(r)) continue;
                        Value* a = load_vector(out_row_[static_cast<std::size_t>(relu_mask_store_[r])], col, mask, m_.c(0));
                        Value* nans = b_.CreateFCmpUNO(a, a);
                        // The counts are counted down (emit_accumulation): a NaN hit added -1.
                        store_scratch(r, b_.CreateSub(load_scratch(r, col, mask), b_.CreateSExt(nans, count_type())), col, mask);
                        for (std::size_t z = 0; z < acc_.size(); ++z)
                            if (zeros_from_counts(z) && static_cast<std::size_t>(zeros_source_[z]) == r)
                                combine_into_buffer(z, acc_base_[z], b_.CreateNeg(popcount(nans)));
                    }
                });
                return b_.CreateAdd(row, b_.getInt64(1));
            });
            take_flag(mxcsr, kMxcsrInvalidFlag);
        });
    }

    // ---- ReLU's counts from relu's own comparison ----
    //
    // A column count of greater(u, 0) beside a stored relu(u) (the diagnostics' active count)
    // counts u > 0 or NaN, the comparison relu's select already makes (relu_mask_store_), where
    // u > 0 would be a second compare per vector. The NaN lanes it counts too are taken back
    // after the block, from the stored activations, in a block that has one
    // (take_nan_hits_back): relu's compare raised MXCSR's invalid flag for it ("MXCSR's sticky
    // flags as guards"; an unsigned max of the activations' bits per vector did this before,
    // one integer instruction per vector). A count of equal(relu(u), 0) over the whole kernel
    // is then the block's elements less its column counts before that correction
    // (add_block_to_buffers): no mask move and popcount per vector. On Zen 5, where
    // compares, mask moves and mask unpacks run two a cycle, a probed 1024-unit row's code run
    // in L1 took 0.69 ns a vector with two compares and the popcounts, 0.50 this way, the plain
    // kernel 0.35; the probed 128x1024 and 1024x1024 kernels went from +17% to +11% over the
    // plain ones (docs/relu-story.md).

    // Per reduction: the store of the relu whose comparison its column count takes, or -1;
    // the column count reduction its zeros come from, or -1 (empty before scratch_rows).
    std::vector<int> relu_mask_store_, zeros_source_;

    bool relu_mask_counts(std::size_t r) const { return !relu_mask_store_.empty() && relu_mask_store_[r] >= 0; }
    bool zeros_from_counts(std::size_t r) const { return !zeros_source_.empty() && zeros_source_[r] >= 0; }

    // Whether a column count could take a relu's compare (then the kernel watches the invalid flag).
    bool relu_counted_columns() const {
        for (std::size_t r = 0; r < acc_.size(); ++r)
            if (acc_[r] == Accumulation::count_columns && relu_counted_store(spec_, spec_.reductions[r]) >= 0) return true;
        return false;
    }

    void choose_relu_mask_counts() {
        relu_mask_store_.assign(acc_.size(), -1);
        zeros_source_.assign(acc_.size(), -1);
        if (!(watched_flags_ & kMxcsrInvalidFlag)) return;  // no flag to notice the NaNs by
        for (std::size_t r = 0; r < acc_.size(); ++r)
            if (acc_[r] == Accumulation::count_columns) relu_mask_store_[r] = relu_counted_store(spec_, spec_.reductions[r]);
        for (std::size_t r = 0; r < acc_.size(); ++r) {
            if (acc_[r] != Accumulation::count_total) continue;
            const int relu = counted_relu_zeros(spec_, spec_.reductions[r]);
            for (std::size_t source = 0; source < acc_.size() && relu >= 0; ++source)
                if (relu_mask_counts(source) && spec_.stores[static_cast<std::size_t>(relu_mask_store_[source])] == relu)
                    zeros_source_[r] = static_cast<int>(source);
        }
    }

    llvm::VectorType* count_type(unsigned lanes = 0) {
        return llvm::FixedVectorType::get(b_.getInt8Ty(), lanes ? lanes : lanes_);
    }
    llvm::VectorType* count_lanes_type() { return llvm::FixedVectorType::get(b_.getInt32Ty(), lanes_); }

    // What scratch row r holds at the start of a block: no counts, or the identity of its max/min.
    llvm::Constant* scratch_start(std::size_t r) {
        if (acc_[r] == Accumulation::count_columns) return llvm::Constant::getNullValue(count_type());
        return identity(spec_.reductions[r].combine, m_.vec);
    }

    // `lanes`: the count lanes loaded (several vectors' worth at once); 0 for one vector.
    Value* load_scratch(std::size_t r, Value* col, Value* mask, unsigned lanes = 0) {
        const bool counts = acc_[r] == Accumulation::count_columns;
        llvm::Type* type = counts ? count_type(lanes) : m_.vec;
        auto* p = b_.CreateGEP(counts ? b_.getInt8Ty() : m_.elem, scratch_[r], col);
        const llvm::Align align(counts ? 1 : esize_.value());
        if (mask) return b_.CreateMaskedLoad(type, p, align, mask, scratch_start(r));
        return b_.CreateAlignedLoad(type, p, align);
    }

    // The vector of `row` at `col` (only the lanes of `mask`, when given; `fill` in the others).
    Value* load_vector(Value* row, Value* col, Value* mask, Value* fill) {
        auto* p = b_.CreateGEP(m_.elem, row, col);
        if (mask) return b_.CreateMaskedLoad(m_.vec, p, esize_, mask, fill);
        return b_.CreateAlignedLoad(m_.vec, p, esize_);
    }

    void store_scratch(std::size_t r, Value* x, Value* col, Value* mask) {
        const bool counts = acc_[r] == Accumulation::count_columns;
        auto* p = b_.CreateGEP(counts ? b_.getInt8Ty() : m_.elem, scratch_[r], col);
        const llvm::Align align(counts ? 1 : esize_.value());
        if (mask) b_.CreateMaskedStore(x, p, align, mask);
        else b_.CreateAlignedStore(x, p, align);
    }

    // f(col, mask) for the vectors of columns [col_begin, col_end): whole vectors with a null
    // mask, then the rest with a lane mask.
    template <class F> void each_column_vector(const F& f) {
        auto* pre = b_.GetInsertBlock();
        auto* head = block("cols");
        auto* body = block("cols.body");
        auto* tail_check = block("cols.tail.check");
        auto* tail = block("cols.tail");
        auto* done = block("cols.end");
        b_.CreateBr(head);

        b_.SetInsertPoint(head);
        auto* col = b_.CreatePHI(i64_, 2, "col");
        col->addIncoming(col_begin_, pre);
        auto* next = b_.CreateAdd(col, b_.getInt64(lanes_));
        b_.CreateCondBr(b_.CreateICmpSLE(next, col_end_), body, tail_check);

        b_.SetInsertPoint(body);
        f(col, nullptr);
        col->addIncoming(next, b_.GetInsertBlock());
        b_.CreateBr(head);

        b_.SetInsertPoint(tail_check);
        b_.CreateCondBr(b_.CreateICmpSLT(col, col_end_), tail, done);

        b_.SetInsertPoint(tail);
        f(col, lane_mask(col));
        b_.CreateBr(done);

        b_.SetInsertPoint(done);
    }

    // Lanes col + i < col_end.
    Value* lane_mask(Value* col) {
        std::vector<llvm::Constant*> iota;
        for (unsigned i = 0; i < lanes_; ++i) iota.push_back(b_.getInt64(i));
        auto* lane = b_.CreateAdd(b_.CreateVectorSplat(lanes_, col), llvm::ConstantVector::get(iota));
        return b_.CreateICmpSLT(lane, b_.CreateVectorSplat(lanes_, col_end_));
    }

    // a + x, max(a, x) or min(a, x), on two scalars or vectors of one type.
    Value* combine(Op op, Value* a, Value* x) {
        if (op == Op::Max) return b_.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, a, x);
        if (op == Op::Min) return b_.CreateBinaryIntrinsic(llvm::Intrinsic::minimum, a, x);
        return b_.CreateFAdd(a, x);
    }

    // What the lanes outside a mask contribute: nothing to the combination.
    llvm::Constant* identity(Op op, llvm::Type* type) {
        return llvm::ConstantFP::get(type, KernelSpec::identity_of(op));
    }

    // Whether reduction r's buffer holds bytes: a max of a comparison (KernelSpec::is_any).
    bool byte_buffer(std::size_t r) const { return spec_.is_any(spec_.reductions[r]); }

    // buffer[0] = combine(buffer[0], x) for reduction r: a float64 (x a float64, or a 64-bit
    // integer count), or a byte buffer's 0 or 1 or-ed with x > 0.
    void combine_into_buffer(std::size_t r, Value* buffer, Value* x) {
        if (byte_buffer(r)) {
            Value* hit = x->getType()->isIntegerTy() ? b_.CreateICmpSGT(x, llvm::ConstantInt::get(x->getType(), 0))
                                                     : b_.CreateFCmpOGT(x, llvm::ConstantFP::get(x->getType(), 0.0));
            auto* old = b_.CreateLoad(b_.getInt8Ty(), buffer);
            b_.CreateStore(b_.CreateOr(old, b_.CreateZExt(hit, b_.getInt8Ty())), buffer);
            return;
        }
        if (x->getType()->isIntegerTy()) x = b_.CreateSIToFP(x, b_.getDoubleTy());
        auto* old = b_.CreateLoad(b_.getDoubleTy(), buffer);
        b_.CreateStore(combine(spec_.reductions[r].combine, old, x), buffer);
    }

    // buffer[col + lane] = combine(buffer[col + lane], x[lane]) for reduction r, the lanes of
    // `mask` (all when null); x float64 lanes or 32-bit integer counts (summed), or for a byte
    // buffer the lanes counted: 1-bit lanes, or float64 lanes whose hits are x > 0 (the
    // identity -inf outside the mask is not one), or-ed into its bytes.
    void combine_lanes_into_buffer(std::size_t r, Value* buffer, Value* col, Value* mask, Value* x) {
        if (byte_buffer(r)) {
            if (!x->getType()->getScalarType()->isIntegerTy(1))
                x = b_.CreateFCmpOGT(x, llvm::ConstantFP::get(x->getType(), 0.0));
            auto* bytes = count_type();
            auto* p = b_.CreateGEP(b_.getInt8Ty(), buffer, col);
            const llvm::Align align(1);
            Value* old = mask ? static_cast<Value*>(b_.CreateMaskedLoad(bytes, p, align, mask))
                              : b_.CreateAlignedLoad(bytes, p, align);
            Value* any = b_.CreateOr(old, b_.CreateZExt(x, bytes));
            if (mask) b_.CreateMaskedStore(any, p, align, mask);
            else b_.CreateAlignedStore(any, p, align);
            return;
        }
        const llvm::Align dalign(8);
        if (x->getType()->isIntOrIntVectorTy()) x = b_.CreateSIToFP(x, dvec_);
        auto* p = b_.CreateGEP(b_.getDoubleTy(), buffer, col);
        Value* old = mask ? static_cast<Value*>(b_.CreateMaskedLoad(dvec_, p, dalign, mask, llvm::ConstantFP::get(dvec_, 0.0)))
                          : b_.CreateAlignedLoad(dvec_, p, dalign);
        Value* sum = combine(spec_.reductions[r].combine, old, x);
        if (mask) b_.CreateMaskedStore(sum, p, dalign, mask);
        else b_.CreateAlignedStore(sum, p, dalign);
    }

    // Pointers to the start of the row for every operand, output and accumulator.
    void row_pointers(Value* row) {
        op_row_.clear();
        out_row_.clear();
        acc_row_.clear();
        hoisted_.clear();
        const std::size_t outer = spec_.dims.size() - 1;
        std::vector<Value*> index(outer);
        Value* rest = row;
        for (std::size_t d = outer; d-- > 0;) {
            if (d == 0) {
                index[d] = rest;
            } else {
                auto* dim = b_.getInt64(static_cast<std::uint64_t>(spec_.dims[d]));
                index[d] = b_.CreateURem(rest, dim);
                rest = b_.CreateUDiv(rest, dim);
            }
        }
        auto offset = [&](const std::vector<std::int64_t>& strides) -> Value* {
            Value* off = b_.getInt64(0);
            for (std::size_t d = 0; d < outer; ++d)
                if (strides[d] != 0)
                    off = b_.CreateAdd(off, b_.CreateMul(index[d], b_.getInt64(static_cast<std::uint64_t>(strides[d]))));
            return off;
        };
        for (std::size_t k = 0; k < spec_.operands.size(); ++k) {
            op_row_.push_back(b_.CreateGEP(m_.elem, op_base_[k], offset(spec_.operands[k])));
            hoisted_.push_back(nullptr);
            if (inner_stride(spec_.operands[k]) == 0)
                hoisted_[k] = b_.CreateVectorSplat(lanes_, b_.CreateLoad(m_.elem, op_row_.back()));
        }
        // One-dimensional kernels are shared by every length (see KernelSpec::key): their only
        // row is row 0, and the length must not appear in the code.
        Value* out_off = outer == 0 ? static_cast<Value*>(b_.getInt64(0))
                                    : b_.CreateMul(row, b_.getInt64(static_cast<std::uint64_t>(spec_.row_length())));
        for (Value* base : out_base_) out_row_.push_back(b_.CreateGEP(m_.elem, base, out_off));
        for (std::size_t r = 0; r < spec_.reductions.size(); ++r) {
            const auto& s = spec_.reductions[r].acc_strides;
            if (inner_stride(s) != 0 && inner_stride(s) != 1)
                throw InternalError(fmt::format("codegen: accumulator with inner stride {}", inner_stride(s)));
            acc_row_.push_back(b_.CreateGEP(byte_buffer(r) ? b_.getInt8Ty() : b_.getDoubleTy(), acc_base_[r], offset(s)));
        }
    }

    // Non-temporal stores need every output aligned to the vector size; chunks start at whole
    // vectors, so that holds for all full vectors when it holds at col_begin. Otherwise the
    // plain loop runs. The stores are made visible to other threads by an sfence at the end.
    llvm::BasicBlock* streaming_or_plain() {
        if (spec_.dims.size() != 1)
            throw InternalError("codegen: streaming stores are only for one-dimensional kernels");
        const std::uint64_t vector_bytes = lanes_ * esize_.value();
        Value* addresses = b_.getInt64(0);
        for (Value* out : out_row_)
            addresses = b_.CreateOr(addresses, b_.CreatePtrToInt(b_.CreateGEP(m_.elem, out, col_begin_), i64_));
        auto* aligned = b_.CreateICmpEQ(b_.CreateAnd(addresses, b_.getInt64(vector_bytes - 1)), b_.getInt64(0));
        auto* streaming = block("streaming");
        auto* plain = block("plain");
        auto* join = block("row.join");
        b_.CreateCondBr(aligned, streaming, plain);
        b_.SetInsertPoint(streaming);
        b_.SetInsertPoint(inner_loop(true));
        b_.CreateCall(llvm::Intrinsic::getDeclaration(module_.get(), llvm::Intrinsic::x86_sse_sfence));
        b_.CreateBr(join);
        b_.SetInsertPoint(plain);
        b_.SetInsertPoint(inner_loop(false));
        b_.CreateBr(join);
        b_.SetInsertPoint(join);
        return join;
    }

    // The vector loop and the masked tail over one row; returns the block where the row ends.
    // `streaming`: the full vectors' stores are non-temporal (their addresses are aligned).
    //
    //   for (; col + VW <= end; col += VW)  V vectors (4 at 512 bits, else 2), interleaved
    //   for (; col < end; col += W)          one vector with a lane mask (at most V times)
    //
    // Several vectors per iteration because one vector's instructions form a single long
    // dependency chain (sigmoid's ~60 cycles on Zen 4), and the core runs well below the
    // throughput of its pipes unless its scheduler holds instructions of several independent
    // chains: on Zen 4 sigmoid needs 12 slots of the FMA pipes per vector but took ~15 cycles
    // with two vectors, ~14 with four (64K floats in L2: sigmoid_fwd, tanh_fwd and
    // chain_fwd_bwd ~10% faster with four than with two, two ~9% faster than one; three and
    // eight were slower than four; bench/elementwise_bench.cpp). The rest is masked rather
    // than a one-vector loop plus a masked tail, so the body is compiled once less (a cold
    // compile of chain_fwd_bwd took the same time with four vectors as with two).
    llvm::BasicBlock* inner_loop(bool streaming) {
        auto* pre = b_.GetInsertBlock();
        auto* body = block("vec.body");
        auto* rest = block("rest");
        auto* rest_body = block("rest.body");
        auto* done = block("row.end");
        // Tested at the bottom, as written: the back end rotated a loop tested at the top in
        // some kernels and not in others, where it took a jump more per iteration (the probed
        // ReLU 128x256 / 128x1024 kernels: +3.2% / +6.0% -> +1.9% / +5.1% over the plain ones,
        // in-process A/B, Zen 5).
        const auto step = b_.getInt64(vectors_per_iteration_ * lanes_);
        const std::vector<Value*> starts = accumulator_starts();
        auto* last_start = b_.CreateSub(col_end_, step);  // of a whole iteration
        b_.CreateCondBr(b_.CreateICmpSLE(col_begin_, last_start), body, rest);

        b_.SetInsertPoint(body);
        auto* col = b_.CreatePHI(i64_, 2, "col");
        col->addIncoming(col_begin_, pre);
        std::vector<llvm::PHINode*> accs = accumulator_phis(pre, starts);
        std::vector<Value*> cols{col};
        for (std::uint64_t v = 1; v < vectors_per_iteration_; ++v)
            cols.push_back(b_.CreateAdd(col, b_.getInt64(v * lanes_)));
        auto acc_body = emit_body(cols, nullptr, std::vector<Value*>(accs.begin(), accs.end()), streaming);
        auto* next = b_.CreateAdd(col, step);
        auto* body_end = b_.GetInsertBlock();
        col->addIncoming(next, body_end);
        for (std::size_t r = 0; r < accs.size(); ++r)
            if (accs[r]) accs[r]->addIncoming(acc_body[r], body_end);
        b_.CreateCondBr(b_.CreateICmpSLE(next, last_start), body, rest);

        // The columns left after the whole iterations (none or some), one vector at a time.
        b_.SetInsertPoint(rest);
        auto* rest_col = b_.CreatePHI(i64_, 3, "rest.col");
        rest_col->addIncoming(col_begin_, pre);
        rest_col->addIncoming(next, body_end);
        std::vector<llvm::PHINode*> rest_accs(accs.size(), nullptr);
        for (std::size_t r = 0; r < accs.size(); ++r) {
            if (!accs[r]) continue;
            rest_accs[r] = b_.CreatePHI(accs[r]->getType(), 3);
            rest_accs[r]->addIncoming(starts[r], pre);
            rest_accs[r]->addIncoming(acc_body[r], body_end);
        }
        b_.CreateCondBr(b_.CreateICmpSLT(rest_col, col_end_), rest_body, done);

        b_.SetInsertPoint(rest_body);
        auto acc_rest = emit_body({rest_col}, lane_mask(rest_col), std::vector<Value*>(rest_accs.begin(), rest_accs.end()),
                                  false);
        rest_col->addIncoming(b_.CreateAdd(rest_col, b_.getInt64(lanes_)), b_.GetInsertBlock());
        for (std::size_t r = 0; r < accs.size(); ++r)
            if (rest_accs[r]) rest_accs[r]->addIncoming(acc_rest[r], b_.GetInsertBlock());
        b_.CreateBr(rest);

        b_.SetInsertPoint(done);
        finish_row(std::vector<Value*>(rest_accs.begin(), rest_accs.end()));
        return b_.GetInsertBlock();
    }

    // Adds the row's register accumulators `accs` (null for the others) into their buffers.
    void finish_row(const std::vector<Value*>& accs) {
        for (std::size_t r = 0; r < accs.size(); ++r) {
            if (!accs[r]) continue;
            const Op op = spec_.reductions[r].combine;
            Value* sum = accs[r];
            // Ordered (no reassociation flag): the lanes are added in a fixed order.
            if (acc_[r] == Accumulation::float_register)
                sum = op == Op::Max   ? b_.CreateFPMaximumReduce(sum)
                      : op == Op::Min ? b_.CreateFPMinimumReduce(sum)
                                      : b_.CreateFAddReduce(llvm::ConstantFP::get(b_.getDoubleTy(), 0.0), sum);
            if (sum->getType()->isFloatTy()) sum = b_.CreateFPExt(sum, b_.getDoubleTy());
            combine_into_buffer(r, acc_row_[r], sum);
        }
    }

    // ---- MXCSR's sticky flags as guards ----
    //
    // Two counts take an x86 exception flag as their guard, read once per group or block of
    // rows rather than tested per vector (fp_flags_work: not under valgrind, which keeps no flags):
    //  - count_rare_zeros, the underflow flag (UE). Every 0 of a sigmoid, exp or softplus comes
    //    out of an operation that rounds a nonzero result to 0 (their exp is clamped, never 0
    //    by a select), which sets it, in the row's own vector loop (varies_along_row); after a
    //    group of rows with UE set, the group's zeros are counted from its stored values
    //    (rare_zeros_after_rows). Other underflows (subnormal results, a tiny r squared in
    //    exp) only make rows counted that need no count. With denormals-are-zero (DAZ) a
    //    subnormal read back as 0 could give a 0 without an underflow: then every row is counted.
    //  - relu-mask counts, the invalid flag (IE): relu's compare is x86's signaling one
    //    (`vcmpnleps`, LLVM's lowering of an unordered greater), which sets IE for a NaN
    //    operand, so a block of rows without IE has no NaN for its counts to take back
    //    (without_nan_hits; tests/test_diagnostics.cpp fails if a quiet compare is chosen).
    // The kernel clears the watched flags on entry, and clears one after counting what it
    // guarded; on return it sets again those the caller's code or a row had raised: what the
    // caller sees is what the kernel without the counts would leave. (Without working flags a
    // count_rare_zeros is a count_total, a compare per vector, and ReLU's counts make their own
    // compares.)
    llvm::AllocaInst* mxcsr_slot_ = nullptr;     // the 32 bits stmxcsr and ldmxcsr go through
    llvm::AllocaInst* flags_raised_ = nullptr;   // watched flags raised before or in the kernel
    std::uint32_t watched_flags_ = 0;

    bool counts_rare_zeros() const {
        return std::find(acc_.begin(), acc_.end(), Accumulation::count_rare_zeros) != acc_.end();
    }

    Value* read_mxcsr() {
        b_.CreateCall(llvm::Intrinsic::getDeclaration(module_.get(), llvm::Intrinsic::x86_sse_stmxcsr), {mxcsr_slot_});
        return b_.CreateLoad(b_.getInt32Ty(), mxcsr_slot_);
    }
    void write_mxcsr(Value* bits) {
        b_.CreateStore(bits, mxcsr_slot_);
        b_.CreateCall(llvm::Intrinsic::getDeclaration(module_.get(), llvm::Intrinsic::x86_sse_ldmxcsr), {mxcsr_slot_});
    }

    // Emits body() in a block run only when `condition` holds; continues after it.
    template <class Body> void only_if(Value* condition, const llvm::Twine& name, const Body& body) {
        auto* then = block(name);
        auto* join = block(name + ".end");
        b_.CreateCondBr(condition, then, join);
        b_.SetInsertPoint(then);
        body();
        b_.CreateBr(join);
        b_.SetInsertPoint(join);
    }

    Value* raised(Value* mxcsr, std::uint32_t bits) {
        return b_.CreateICmpNE(b_.CreateAnd(mxcsr, b_.getInt32(bits)), b_.getInt32(0));
    }

    // On entry: the flags the counts use, the caller's kept aside and cleared. `relu_masks`:
    // whether column counts may take relu's compare (relu_mask_counts).
    void start_flag_watch(bool relu_masks) {
        watched_flags_ = (counts_rare_zeros() ? kMxcsrUnderflowFlag : 0) | (relu_masks ? kMxcsrInvalidFlag : 0);
        if (!watched_flags_) return;
        llvm::IRBuilder<> entry(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
        mxcsr_slot_ = entry.CreateAlloca(b_.getInt32Ty());
        flags_raised_ = entry.CreateAlloca(b_.getInt32Ty());
        Value* caller = read_mxcsr();
        b_.CreateStore(b_.CreateAnd(caller, b_.getInt32(watched_flags_)), flags_raised_);
        only_if(raised(caller, watched_flags_), "mxcsr.clear", [&] { write_mxcsr(b_.CreateAnd(caller, b_.getInt32(~watched_flags_))); });
    }

    // On return: the flags set again that the caller's code or a row had raised.
    void end_flag_watch() {
        if (!watched_flags_) return;
        Value* before = b_.CreateLoad(b_.getInt32Ty(), flags_raised_);
        only_if(raised(before, watched_flags_), "mxcsr.restore", [&] { write_mxcsr(b_.CreateOr(read_mxcsr(), before)); });
    }

    // After counting what `flag` guarded, seen raised in `mxcsr`: the flag noted and cleared.
    void take_flag(Value* mxcsr, std::uint32_t flag) {
        Value* before = b_.CreateLoad(b_.getInt32Ty(), flags_raised_);
        b_.CreateStore(b_.CreateOr(before, b_.CreateAnd(mxcsr, b_.getInt32(flag))), flags_raised_);
        only_if(raised(mxcsr, flag), "mxcsr.clear", [&] { write_mxcsr(b_.CreateAnd(read_mxcsr(), b_.getInt32(~flag))); });
    }

    // Rows between two reads of the underflow flag: reading MXCSR waits for the floating-point
    // work before it, which cost sigmoid's probed 128x1024 kernel ~2% when read after every row
    // (Zen 5); a group of ~8K elements makes that ~0.25%, and a row with a zero costs the
    // recount of its group's rows rather than of itself alone.
    std::int64_t underflow_check_rows() const {
        if (spec_.dims.size() == 1) return 1;  // one row, of any length
        return std::clamp<std::int64_t>(kUnderflowCheckElements / spec_.row_length(), 1, kCountRowBlock);
    }

    // After the rows [first, last): their zeros, for each count_rare_zeros reduction, if they
    // may have any.
    void rare_zeros_after_rows(Value* first, Value* last) {
        Value* mxcsr = read_mxcsr();
        only_if(raised(mxcsr, kMxcsrUnderflowFlag | kMxcsrDenormalsAreZero), "zeros.count", [&] {
            counted_loop("zeros.row", first, last, [&](Value* row) {
                row_pointers(row);
                for (std::size_t r = 0; r < acc_.size(); ++r)
                    if (acc_[r] == Accumulation::count_rare_zeros)
                        combine_into_buffer(r, acc_row_[r], zeros_of_row(r));
                return b_.CreateAdd(row, b_.getInt64(1));
            });
            take_flag(mxcsr, kMxcsrUnderflowFlag);
        });
    }

    // The zeros of count_rare_zeros reduction r's stored values in the row, as a 64-bit count.
    Value* zeros_of_row(std::size_t r) {
        // In the entry block: an alloca in the loop would take stack space per row (mem2reg
        // makes it a register).
        llvm::IRBuilder<> entry(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
        auto* zeros = entry.CreateAlloca(i64_);
        b_.CreateStore(b_.getInt64(0), zeros);
        Value* row = out_row_[static_cast<std::size_t>(rarely_zero_store(spec_, spec_.reductions[r]))];
        each_column_vector([&](Value* col, Value* mask) {
            Value* a = load_vector(row, col, mask, m_.c(1));
            Value* n = popcount(b_.CreateFCmpOEQ(a, llvm::ConstantFP::get(m_.vec, 0.0)));
            b_.CreateStore(b_.CreateAdd(b_.CreateLoad(i64_, zeros), n), zeros);
        });
        return b_.CreateLoad(i64_, zeros);
    }

    // A phi, starting from `starts` (accumulator_starts) on entry from `pre`, for each register
    // accumulator (null for the others).
    std::vector<llvm::PHINode*> accumulator_phis(llvm::BasicBlock* pre, const std::vector<Value*>& starts) {
        std::vector<llvm::PHINode*> accs;
        for (Value* start : starts) {
            if (!start) {
                accs.push_back(nullptr);
                continue;
            }
            accs.push_back(b_.CreatePHI(start->getType(), 2, "acc"));
            accs.back()->addIncoming(start, pre);
        }
        return accs;
    }

    // The value each register accumulator starts a row with: the identity of its combination
    // (null for the other accumulators).
    std::vector<Value*> accumulator_starts() {
        std::vector<Value*> starts;
        for (std::size_t r = 0; r < acc_.size(); ++r) {
            const Accumulation a = acc_[r];
            if (a == Accumulation::float_register) {
                // A max or min is exact in the dtype itself: no conversion in the loop.
                const Op op = spec_.reductions[r].combine;
                starts.push_back(identity(op, op == Op::Sum ? dvec_ : m_.vec));
            } else if (a == Accumulation::count_total && !zeros_from_counts(r)) {
                starts.push_back(b_.getInt64(0));
            } else {
                starts.push_back(nullptr);
            }
        }
        return starts;
    }

    // The lanes where counter instruction `i` is 1: its comparison's lane mask (LLVM folds
    // `select(c, 1, 0) != 0` back to c), or the lanes where `lanes` is false when `complement`.
    struct CountedLanes {
        Value* lanes;
        bool complement;
    };
    // equal(relu(u), 0) is exactly !(u > 0 or u is NaN), where relu(u) is u: the comparison
    // relu's select makes. Counted as the complement of that comparison, it is the same one,
    // made once per vector, where comparing relu's result would be a vector compare more.
    CountedLanes counted_lanes(const std::vector<Value*>& v, int i) {
        const auto& in = instr_at(spec_, i);
        auto* zero = llvm::ConstantFP::get(m_.vec, 0.0);
        if (in.op == Op::Equal && is_zero_constant(spec_, in.args[1]) && is_op(spec_, in.args[0], Op::Relu)) {
            const int u = instr_at(spec_, in.args[0]).args[0];
            return {b_.CreateFCmpUGT(v[static_cast<std::size_t>(u)], zero), true};
        }
        return {b_.CreateFCmpUNE(v[static_cast<std::size_t>(i)], zero), false};
    }

    // relu's own comparison u > 0 or NaN, for relu-mask column count r of greater(u, 0).
    CountedLanes relu_comparison(const std::vector<Value*>& v, std::size_t r) {
        const int u = spec_.instrs[static_cast<std::size_t>(spec_.reductions[r].value)].args[0];
        return {b_.CreateFCmpUGT(v[static_cast<std::size_t>(u)], llvm::ConstantFP::get(m_.vec, 0.0)), false};
    }

    // The number of true lanes of a lane mask, as a 64-bit integer.
    Value* popcount(Value* lanes) {
        Value* bits = b_.CreateBitCast(lanes, b_.getIntNTy(lanes_));
        return b_.CreateZExt(b_.CreateUnaryIntrinsic(llvm::Intrinsic::ctpop, bits), i64_);
    }

    // A where() whose condition is a comparison (greater, equal) of this kernel selects on the
    // comparison itself: where(select(c, 1, 0), a, b) picks a exactly when c holds (the 0/1 is
    // never NaN), so the result is the same for every input, and the compare of the 0/1 with
    // zero (one more instruction on the two FMA pipes of Zen 4) is not emitted. Every backward
    // select of op_rules (relu, abs, maximum, ...) is such a where() once differentiated.
    Value* where_on_compare(const KernelSpec::Instr& in, const std::vector<Value*>& v) {
        const auto& cond = spec_.instrs[static_cast<std::size_t>(in.args[0])];
        if (cond.kind != KernelSpec::Instr::Kind::op || (cond.op != Op::Greater && cond.op != Op::Equal)) return nullptr;
        Value* lhs = v[static_cast<std::size_t>(cond.args[0])];
        Value* rhs = v[static_cast<std::size_t>(cond.args[1])];
        Value* holds = cond.op == Op::Greater ? m_.gt(lhs, rhs) : m_.eq(lhs, rhs);
        return m_.select(holds, v[static_cast<std::size_t>(in.args[1])], v[static_cast<std::size_t>(in.args[2])]);
    }

    // The value of every instruction on the W elements at `col` (only the lanes of `mask`, when
    // given).
    std::vector<Value*> emit_values(Value* col, Value* mask) {
        std::vector<Value*> v(spec_.instrs.size());
        auto* zero = llvm::ConstantFP::get(m_.vec, 0.0);
        for (std::size_t i = 0; i < spec_.instrs.size(); ++i) {
            const auto& in = spec_.instrs[i];
            switch (in.kind) {
            case KernelSpec::Instr::Kind::constant: v[i] = m_.c(in.value); break;
            case KernelSpec::Instr::Kind::load: {
                const auto k = static_cast<std::size_t>(in.operand);
                const std::int64_t s = inner_stride(spec_.operands[k]);
                if (s == 0) {
                    v[i] = hoisted_[k];
                } else if (s == 1) {
                    v[i] = load_vector(op_row_[k], col, mask, zero);
                } else {
                    std::vector<llvm::Constant*> lane_offsets;
                    for (unsigned l = 0; l < lanes_; ++l) lane_offsets.push_back(b_.getInt64(static_cast<std::uint64_t>(l * s)));
                    auto* idx = b_.CreateAdd(b_.CreateVectorSplat(lanes_, b_.CreateMul(col, b_.getInt64(static_cast<std::uint64_t>(s)))),
                                             llvm::ConstantVector::get(lane_offsets));
                    auto* ptrs = b_.CreateGEP(m_.elem, op_row_[k], idx);
                    Value* all = mask ? mask : llvm::Constant::getAllOnesValue(llvm::FixedVectorType::get(b_.getInt1Ty(), lanes_));
                    v[i] = b_.CreateMaskedGather(m_.vec, ptrs, esize_, all, zero);
                }
                break;
            }
            case KernelSpec::Instr::Kind::op: {
                if (in.op == Op::Where)
                    if (Value* picked = where_on_compare(in, v)) {
                        v[i] = picked;
                        break;
                    }
                std::vector<Value*> args;
                for (int a : in.args) args.push_back(v[static_cast<std::size_t>(a)]);
                v[i] = emit_op(m_, in.op, args, in.alpha);
                break;
            }
            }
        }
        return v;
    }

    // The instructions emitted into the current block by f().
    template <class F> std::vector<llvm::Instruction*> emitted_by(const F& f) {
        llvm::BasicBlock* bb = b_.GetInsertBlock();
        llvm::Instruction* last = bb->empty() ? nullptr : &bb->back();
        f();
        std::vector<llvm::Instruction*> made;
        for (auto it = last ? std::next(last->getIterator()) : bb->begin(); it != bb->end(); ++it) made.push_back(&*it);
        return made;
    }

    // Per reduction, what the vectors of an iteration give its column counts: the lanes counted,
    // per vector.
    using ColumnHits = std::vector<std::vector<Value*>>;

    // The instructions on the vectors at `cols` (one, or vectors_per_iteration_), their stores and
    // their additions to the accumulators, the vectors in order. Returns the new value of each
    // register accumulator.
    //
    // The vectors' values are emitted one after the other and then interleaved, instruction by
    // instruction (the code generator keeps that order): each vector's instructions are one
    // dependency chain, and the core's scheduler, which fills in program order, then holds
    // instructions of every chain. The sequences are the same code on other registers, so the
    // k-th instructions match; the interleaving moves only instructions that compute values,
    // never a store.
    std::vector<Value*> emit_body(const std::vector<Value*>& cols, Value* mask, const std::vector<Value*>& accs,
                                  bool streaming) {
        std::vector<std::vector<Value*>> values(cols.size());
        std::vector<std::vector<llvm::Instruction*>> code(cols.size());
        for (std::size_t c = 0; c < cols.size(); ++c) code[c] = emitted_by([&] { values[c] = emit_values(cols[c], mask); });
        const bool same_code =
            std::all_of(code.begin(), code.end(), [&](const auto& c) { return c.size() == code[0].size(); });
        if (same_code)
            for (std::size_t k = 0; k < code[0].size(); ++k)
                for (std::size_t c = 1; c < cols.size(); ++c) code[c][k]->moveAfter(code[c - 1][k]);
        std::vector<Value*> out(accs);
        ColumnHits column_hits(spec_.reductions.size());
        for (std::size_t c = 0; c < cols.size(); ++c) {
            emit_stores(values[c], cols[c], mask, streaming);
            out = emit_accumulation(values[c], cols[c], mask, out, column_hits);
        }
        add_column_hits(column_hits, cols.front(), mask);
        return combine_extrema(values, mask, out);
    }

    // The per-column counts of one iteration: the vectors' hits (-1 where counted, 0 elsewhere,
    // of contiguous columns) side by side, added to the scratch row with one load, add and
    // store (64 bytes for four 16-lane vectors) rather than one each per vector. (A masked
    // increment in place of the mask-to-bytes move and add measured the same or slower, Zen 5.)
    // Bits (any_columns) are or-ed in the same way, one word for the iteration.
    void add_column_hits(const ColumnHits& column_hits, Value* col, Value* mask) {
        for (std::size_t r = 0; r < column_hits.size(); ++r) {
            if (column_hits[r].empty()) continue;
            if (acc_[r] == Accumulation::any_columns) {
                or_bits(r, llvm::concatenateVectors(b_, column_hits[r]), col);
                continue;
            }
            const auto lanes = static_cast<unsigned>(column_hits[r].size()) * lanes_;
            Value* hits = b_.CreateSExt(llvm::concatenateVectors(b_, column_hits[r]), count_type(lanes));
            store_scratch(r, b_.CreateAdd(load_scratch(r, col, mask, lanes), hits), col, mask);
        }
    }

    void emit_stores(const std::vector<Value*>& v, Value* col, Value* mask, bool streaming) {
        for (std::size_t s = 0; s < spec_.stores.size(); ++s) {
            auto* p = b_.CreateGEP(m_.elem, out_row_[s], col);
            Value* x = v[static_cast<std::size_t>(spec_.stores[s])];
            if (mask) {
                b_.CreateMaskedStore(x, p, esize_, mask);
            } else if (streaming) {
                auto* store = b_.CreateAlignedStore(x, p, llvm::Align(lanes_ * esize_.value()));
                store->setMetadata(llvm::LLVMContext::MD_nontemporal,
                                   llvm::MDNode::get(ctx_, llvm::ConstantAsMetadata::get(b_.getInt32(1))));
            } else {
                b_.CreateAlignedStore(x, p, esize_);
            }
        }
    }

    // The register maxima and minima (in the dtype) of the vectors of one iteration: the vectors
    // first, as a tree, then the accumulator. Exact in any order (unlike a sum), and the accumulator's
    // dependency chain (llvm.maximum is several instructions on x86) grows by one combination
    // per iteration rather than one per vector.
    std::vector<Value*> combine_extrema(const std::vector<std::vector<Value*>>& values, Value* mask,
                                        std::vector<Value*> accs) {
        for (std::size_t r = 0; r < spec_.reductions.size(); ++r) {
            const Op op = spec_.reductions[r].combine;
            if (acc_[r] != Accumulation::float_register || op == Op::Sum) continue;
            std::vector<Value*> xs;
            for (const auto& v : values) {
                Value* x = v[static_cast<std::size_t>(spec_.reductions[r].value)];
                xs.push_back(mask ? b_.CreateSelect(mask, x, identity(op, m_.vec)) : x);
            }
            while (xs.size() > 1) {
                std::vector<Value*> pairs;
                for (std::size_t k = 0; k + 1 < xs.size(); k += 2) pairs.push_back(combine(op, xs[k], xs[k + 1]));
                if (xs.size() % 2) pairs.push_back(xs.back());
                xs = std::move(pairs);
            }
            accs[r] = combine(op, accs[r], xs.front());
        }
        return accs;
    }

    // Adds one vector's reduced values to the accumulators (but register maxima and minima:
    // combine_extrema); returns the new value of each register accumulator.
    std::vector<Value*> emit_accumulation(const std::vector<Value*>& v, Value* col, Value* mask,
                                          const std::vector<Value*>& accs, ColumnHits& column_hits) {
        std::vector<Value*> out(accs.size(), nullptr);
        for (std::size_t r = 0; r < spec_.reductions.size(); ++r) {
            Value* x = v[static_cast<std::size_t>(spec_.reductions[r].value)];
            switch (acc_[r]) {
            case Accumulation::count_rare_zeros: break;  // rare_zeros_after_rows
            case Accumulation::count_total:
            case Accumulation::count_columns:
            case Accumulation::any_columns: {
                if (zeros_from_counts(r)) break;  // add_zeros_from_counts
                // Lanes outside `mask` compare whatever the zero-filled loads gave.
                const auto [lanes, complement] = relu_mask_counts(r) ? relu_comparison(v, r)
                                                                     : counted_lanes(v, spec_.reductions[r].value);
                Value* all = mask ? mask : llvm::Constant::getAllOnesValue(lanes->getType());
                Value* in_mask = b_.CreateAnd(lanes, all);
                if (acc_[r] == Accumulation::count_total) {
                    Value* n = popcount(in_mask);
                    if (complement) n = b_.CreateSub(popcount(all), n);
                    out[r] = b_.CreateAdd(accs[r], n);
                } else {
                    // Per column (add_column_hits): counts are counted down, modulo 256 (the
                    // block's count is the negated byte): adding the sign-extended comparison
                    // (-1 on a hit) lets the load fold into the add. Bits are or-ed.
                    column_hits[r].push_back(complement ? b_.CreateXor(all, in_mask) : in_mask);
                }
                break;
            }
            case Accumulation::extreme_columns:
                // The masked load and store leave the lanes outside `mask` alone.
                store_scratch(r, combine(spec_.reductions[r].combine, load_scratch(r, col, mask), x), col, mask);
                break;
            case Accumulation::float_register:
                if (spec_.reductions[r].combine != Op::Sum) {  // see combine_extrema
                    out[r] = accs[r];
                    break;
                }
                [[fallthrough]];
            case Accumulation::float_memory: {
                const Op op = spec_.reductions[r].combine;
                if (spec_.dtype == DType::f32) x = b_.CreateFPExt(x, dvec_);
                if (mask) x = b_.CreateSelect(mask, x, identity(op, dvec_));
                if (acc_[r] == Accumulation::float_register) out[r] = combine(op, accs[r], x);
                else combine_lanes_into_buffer(r, acc_row_[r], col, mask, x);
                break;
            }
            }
        }
        return out;
    }
};

}  // namespace

std::unique_ptr<llvm::Module> generate_kernel(llvm::LLVMContext& context, const KernelSpec& spec,
                                              const std::string& name, unsigned vector_bits) {
    if (spec.normalize != KernelSpec::Normalize::none) return generate_normalize_kernel(context, spec, name, vector_bits);
    return KernelBuilder(context, spec, name, vector_bits).build();
}

}  // namespace nnjit::jit

namespace nnjit::jit {
// The build of this file: what the generated code depends on (codegen, op_rules, vmath) is
// compiled into it, so a rebuild changes the key of every on-disk cache entry.
const char* codegen_build_stamp() { return __DATE__ " " __TIME__; }
}  // namespace nnjit::jit

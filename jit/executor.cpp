// JitProgram: a schedule worked out once from the plan, then runs that fill in pointers and
// call kernels.
#include "executor.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <optional>

#include <omp.h>

#include "../dsl/in_place_order.hpp"
#include "../dsl/kernels.hpp"
#include "engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/interpreter.hpp"
#include "nnjit/thread_policy.hpp"

namespace nnjit::jit {
namespace {

// Work per chunk: large enough that OpenMP's overhead is noise, small enough to share out.
constexpr std::int64_t kChunkElements = std::int64_t{1} << 17;
// At most this many chunks: bounds the per-chunk partial sums of a reduction.
constexpr std::int64_t kMaxChunks = 64;
// A kernel runs on several threads only from this many elements. Starting the other threads
// costs tens of microseconds (they are released when a run ends, see run_chunks), and on a busy
// machine a woken thread can wait a scheduler tick before it runs; the cheapest kernel (relu,
// 8 bytes per element from memory) takes ~0.25 ms on one thread at 2^20 elements, so from
// there the split pays even when waking is slow, and below it one thread is as fast.
constexpr std::int64_t kParallelElements = std::int64_t{1} << 20;

struct Chunks {
    std::int64_t count = 1;
    // Rows; or, of the single row, elements (a loop) or columns (a softmax of side-by-side
    // slices: each slice is whole in one chunk).
    std::int64_t per_chunk = 0;
    bool by_rows = true;
};

// Depends on the kernel's shape only: the thread count never changes how sums are split.
Chunks chunks_of(const KernelSpec& spec) {
    const std::int64_t rows = spec.rows(), len = spec.row_length();
    const std::int64_t want = std::clamp<std::int64_t>((rows * len + kChunkElements - 1) / kChunkElements, 1, kMaxChunks);
    Chunks c;
    const bool normalize = spec.normalize != KernelSpec::Normalize::none;
    c.by_rows = rows > 1 || (normalize && spec.columns == 1);  // a softmax row of one slice is never split
    const std::int64_t total = c.by_rows ? rows : normalize ? spec.columns : len;
    if (c.by_rows) {
        c.per_chunk = (rows + want - 1) / want;
    } else {
        c.per_chunk = (total + want - 1) / want;
        c.per_chunk = (c.per_chunk + 63) / 64 * 64;  // whole vectors at every chunk start
    }
    c.per_chunk = std::max<std::int64_t>(c.per_chunk, 1);
    c.count = std::max<std::int64_t>(1, (total + c.per_chunk - 1) / c.per_chunk);
    return c;
}

// Runs body(c) for every chunk c in [0, count): on the calling thread alone below
// kParallelElements or when no core is idle, else across OpenMP threads. Chunks are taken
// dynamically, so a thread that is slowed down takes fewer (which chunk runs where never
// changes a result: each has its own partial sums). Afterwards the threads are released
// rather than left spinning, at the end of the program's run (thread_policy.hpp).
template <class Body> void run_chunks(std::int64_t count, std::int64_t elements, const Body& body) {
    const int threads = count < 2 || elements < kParallelElements || omp_in_parallel() ? 1 : useful_threads();
    if (threads < 2) {
        for (std::int64_t c = 0; c < count; ++c) body(c);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::int64_t c = 0; c < count; ++c) body(c);
    parallel_region_done();
}

// The L3 size as Linux describes it (sysconf's can be the sum over a whole host: 320 MiB in
// the VM this was measured on, whose L3 is 32 MiB); 32 MiB when unknown.
std::int64_t last_level_cache_bytes() {
    static const std::int64_t bytes = [] {
        std::int64_t kib = 0;
        if (std::FILE* f = std::fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r")) {
            long long v = 0;
            char unit = 0;
            if (std::fscanf(f, "%lld%c", &v, &unit) == 2 && unit == 'K') kib = v;
            std::fclose(f);
        }
        return kib > 0 ? kib * 1024 : std::int64_t{32} << 20;
    }();
    return bytes;
}

// Stores past the caches (non-temporal) when a kernel's arrays cannot stay in the last-level
// cache anyway: a plain store first reads its cache line (write allocation), so a kernel with
// 2 inputs and 2 outputs moves 6 lines per line of output pairs instead of 4. x86 only (the
// code ends with an sfence); one-dimensional kernels only (the alignment check is per row).
bool wants_streaming_stores(const KernelSpec& spec) {
#if defined(__x86_64__)
    if (spec.dims.size() != 1 || spec.stores.empty() || spec.normalize != KernelSpec::Normalize::none) return false;
    const auto arrays = static_cast<std::int64_t>(spec.operands.size() + spec.stores.size());
    return spec.numel() * static_cast<std::int64_t>(dtype_size(spec.dtype)) * arrays > last_level_cache_bytes();
#else
    (void)spec;
    return false;
#endif
}

std::size_t bytes_of(const Node& n) { return static_cast<std::size_t>(n.shape().numel()) * dtype_size(n.dtype()); }

// The chunks' partial results combined in chunk order, scaled (a mean) and rounded to T.
// A sum is added in place into chunk 0's partials, chunk by chunk, so each loop runs over
// contiguous doubles and vectorises (a loop per element over the chunks made a 128x1024 ReLU
// layer's probes cost 7 us, half the kernel's time, for its 1024 per-unit counts). The
// additions are the same, in the same order: a partial is never -0 (the kernel adds into a
// buffer that starts at +0), so the identity's 0 + first partial was the first partial.
template <class T>
void finish_sum(Op combine, double* partial, std::int64_t chunks, std::int64_t size, double scale, void* out) {
    T* o = static_cast<T*>(out);
    if (combine == Op::Sum) {
        for (std::int64_t c = 1; c < chunks; ++c) {
            const double* part = partial + c * size;
            for (std::int64_t j = 0; j < size; ++j) partial[j] += part[j];
        }
        for (std::int64_t j = 0; j < size; ++j) o[j] = static_cast<T>(partial[j] * scale);
        return;
    }
    const double identity = KernelSpec::identity_of(combine);
    for (std::int64_t j = 0; j < size; ++j) {
        double total = identity;
        for (std::int64_t c = 0; c < chunks; ++c) {
            const double x = partial[static_cast<std::size_t>(c * size + j)];
            if (combine == Op::Max ? detail::beats_max(x, total) : detail::beats_min(x, total)) total = x;
        }
        o[j] = static_cast<T>(total * scale);
    }
}

// The chunks' partial results of a max of a comparison combined: per element, 1 if any chunk's
// byte is 1 (each chunk's bytes start its partial sums).
void finish_any(const double* partial, std::int64_t chunks, std::int64_t size, DType dtype, void* out) {
    for (std::int64_t j = 0; j < size; ++j) {
        bool any = false;
        for (std::int64_t c = 0; c < chunks && !any; ++c)
            any = reinterpret_cast<const std::uint8_t*>(partial + c * size)[j] != 0;
        if (dtype == DType::f64) static_cast<double*>(out)[j] = any ? 1.0 : 0.0;
        else static_cast<float*>(out)[j] = any ? 1.0f : 0.0f;
    }
}

// Copies `src` (any layout) into the contiguous `dst` of the same dtype and shape.
void copy_into(const Tensor& src, Tensor& dst) {
    const Tensor c = src.contiguous();
    if (c.raw_data() != dst.raw_data())
        std::memcpy(dst.raw_data(), c.raw_data(), static_cast<std::size_t>(dst.numel()) * dtype_size(dst.dtype()));
}

// Where a value lives during a run: in a tensor of the caller's (an input or an output), in a
// literal the program holds, or in a buffer of the run's workspace.
struct Slot {
    enum class Kind : unsigned char { input, literal, buffer, output };
    Kind kind = Kind::buffer;
    std::size_t index = 0;  // which input, literal, buffer or output
    const Node* node = nullptr;
};

// A fused kernel with its arguments as slots: operands, then stores, then per-chunk sums.
struct KernelStep {
    KernelFn fn = nullptr;
    Chunks chunks;
    std::int64_t rows = 0, len = 0;
    bool empty = false;  // an empty domain: nothing to run, the sums are their empty values
    std::vector<std::size_t> reads, writes;
    struct Sum {
        std::size_t slot = 0;
        std::int64_t size = 0;    // elements of the result
        double scale = 1;         // a mean's 1 / count
        Op combine = Op::Sum;     // or Max, Min
        bool bytes = false;       // a max of a comparison: its partials are bytes, 0 or 1 (KernelSpec::is_any)
        std::size_t partial = 0;  // offset of chunk 0's partial sums in the workspace
        DType dtype = DType::f32;
    };
    std::vector<Sum> sums;
    std::size_t partial_size = 0;  // partial sums of all chunks and sums
};

// c = op(a) op(b) on raw pointers, for small products (detail::small_matmul).
struct MatmulStep {
    std::size_t a = 0, b = 0, c = 0;
    bool trans_a = false, trans_b = false;
    std::int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0;
    DType dtype = DType::f32;
};

struct Step {
    enum class Kind : unsigned char { kernel, matmul, node };
    Kind kind;
    std::size_t index;  // into kernels / matmuls; for node: the slot the node writes
};

}  // namespace

struct JitProgram::Schedule {
    std::vector<Slot> slots;  // the placeholders first, in input_names() order
    std::vector<int> slot_of;  // per node id: its slot, or -1 (views, constants: made when read)
    std::vector<Tensor> literals;  // contiguous
    std::vector<const Node*> buffers;  // per workspace buffer: the first node it holds (its size)
    std::vector<KernelStep> kernels;
    std::vector<MatmulStep> matmuls;
    std::vector<Step> steps;
    std::size_t args_size = 0;
    std::size_t partial_size = 0;
    const Node* partial_node = nullptr;  // the sum needing the most partial sums (for the error)
    std::int64_t partial_chunks = 1;
    bool partial_overflow = false;
    // Outputs no step writes: views, placeholders, literals, constants, and outputs listed
    // twice (`first`: the earlier output holding the same node), copied at the end; one that
    // may be written over an input is `held` (copied out of the inputs before any is written).
    struct LateOutput {
        std::size_t k = 0;
        int first = -1;
        const Node* node = nullptr;
        bool held = false;
    };
    std::vector<LateOutput> late;
    // Outputs over inputs that could not be written in place: computed into a buffer (`slot`),
    // copied into output k at the end.
    struct Staged {
        std::size_t slot = 0, k = 0;
    };
    std::vector<Staged> staged;
};

struct JitProgram::Workspace {
    std::vector<Tensor> buffers;
    std::vector<void*> pointers;  // per slot
    std::vector<void*> args;
    std::unique_ptr<double[]> partial;
    // Per input: a contiguous copy when the bound tensor is not contiguous (during a run).
    std::vector<std::optional<Tensor>> copies;
};

// Takes a workspace from the pool (a new one when none is free) and gives it back.
class JitProgram::Lease {
public:
    explicit Lease(const JitProgram& program) : program_(program) {
        {
            std::lock_guard lock(program.pool_mutex_);
            if (!program.pool_.empty()) {
                workspace_ = std::move(program.pool_.back());
                program.pool_.pop_back();
            }
        }
        if (!workspace_) workspace_ = program.make_workspace();
    }
    ~Lease() {
        std::lock_guard lock(program_.pool_mutex_);
        program_.pool_.push_back(std::move(workspace_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Workspace& operator*() const { return *workspace_; }

private:
    const JitProgram& program_;
    std::unique_ptr<Workspace> workspace_;
};

// One call: the schedule's steps on this call's tensors.
class JitProgram::Run {
public:
    Run(const Schedule& schedule, Workspace& ws, std::span<const Tensor* const> inputs, std::span<Tensor> outputs)
        : s_(schedule), ws_(ws), inputs_(inputs), outputs_(outputs) {}

    void operator()() {
        // Kernels read inputs by pointer: a non-contiguous one is copied first.
        bool copied = false;
        for (std::size_t i = 0; i < inputs_.size(); ++i) {
            const Tensor& t = *inputs_[i];
            if (t.is_contiguous()) {
                ws_.pointers[i] = const_cast<void*>(t.raw_data());
            } else {
                ws_.copies[i] = t.contiguous();
                ws_.pointers[i] = ws_.copies[i]->raw_data();
                copied = true;
            }
        }
        for (std::size_t i = inputs_.size(); i < s_.slots.size(); ++i)
            if (s_.slots[i].kind == Slot::Kind::output) ws_.pointers[i] = outputs_[s_.slots[i].index].raw_data();
        for (const Step& step : s_.steps) {
            switch (step.kind) {
            case Step::Kind::kernel: kernel(s_.kernels[step.index]); break;
            case Step::Kind::matmul: matmul(s_.matmuls[step.index]); break;
            case Step::Kind::node: node(step.index); break;
            }
        }
        finish_outputs();
        if (copied)
            for (auto& c : ws_.copies) c.reset();
    }

private:
    const Schedule& s_;
    Workspace& ws_;
    std::span<const Tensor* const> inputs_;
    std::span<Tensor> outputs_;

    // The outputs no step wrote in place, in an order that reads every input before an output
    // is copied over it.
    void finish_outputs() {
        std::vector<Tensor> held;
        for (const auto& late : s_.late) {
            if (late.first >= 0) continue;
            if (late.held) held.push_back(tensor_of(late.node).clone());
            else copy_into(tensor_of(late.node), outputs_[late.k]);
        }
        for (const auto& staged : s_.staged) copy_into(slot_tensor(staged.slot), outputs_[staged.k]);
        std::size_t h = 0;
        for (const auto& late : s_.late)
            if (late.first < 0 && late.held) copy_into(held[h++], outputs_[late.k]);
        for (const auto& late : s_.late)
            if (late.first >= 0) copy_into(outputs_[static_cast<std::size_t>(late.first)], outputs_[late.k]);
    }

    void kernel(const KernelStep& k) {
        const KernelFn fn = k.fn;
        double* partial = ws_.partial.get();
        for (const auto& sum : k.sums) {
            const auto n = static_cast<std::size_t>(k.chunks.count * sum.size);
            if (!sum.bytes) std::fill_n(partial + sum.partial, n, KernelSpec::identity_of(sum.combine));
            else  // each chunk's bytes, at the start of its partial sums
                for (std::int64_t c = 0; c < k.chunks.count; ++c)
                    std::memset(partial + sum.partial + static_cast<std::size_t>(c * sum.size), 0,
                                static_cast<std::size_t>(sum.size));
        }
        if (!k.empty) {
            const std::size_t width = k.reads.size() + k.writes.size() + k.sums.size();
            void** args = ws_.args.data();
            for (std::int64_t c = 0; c < k.chunks.count; ++c) {
                void** a = args + static_cast<std::size_t>(c) * width;
                for (std::size_t slot : k.reads) *a++ = ws_.pointers[slot];
                for (std::size_t slot : k.writes) *a++ = ws_.pointers[slot];
                for (const auto& sum : k.sums) *a++ = partial + sum.partial + static_cast<std::size_t>(c * sum.size);
            }
            const std::int64_t rows = k.rows, len = k.len, per_chunk = k.chunks.per_chunk;
            const bool by_rows = k.chunks.by_rows;
            run_chunks(k.chunks.count, rows * len, [&](std::int64_t c) {
                void* const* a = args + static_cast<std::size_t>(c) * width;
                const std::int64_t lo = c * per_chunk;
                if (by_rows) fn(a, lo, std::min(rows, lo + per_chunk), 0, len);
                else fn(a, 0, 1, lo, std::min(len, lo + per_chunk));
            });
        }
        for (const auto& sum : k.sums) {
            void* out = ws_.pointers[sum.slot];
            double* first = partial + sum.partial;
            const std::int64_t chunks = k.chunks.count;
            if (sum.bytes) finish_any(first, chunks, sum.size, sum.dtype, out);
            else if (sum.dtype == DType::f64) finish_sum<double>(sum.combine, first, chunks, sum.size, sum.scale, out);
            else finish_sum<float>(sum.combine, first, chunks, sum.size, sum.scale, out);
        }
    }

    void matmul(const MatmulStep& m) {
        detail::small_matmul(m.dtype, m.trans_a, m.trans_b, m.m, m.n, m.k, ws_.pointers[m.a], m.lda, ws_.pointers[m.b],
                             m.ldb, ws_.pointers[m.c]);
    }

    // A node the interpreter's kernel computes, from its inputs as tensors, into its slot.
    void node(std::size_t slot) {
        const Node& n = *s_.slots[slot].node;
        std::vector<Tensor> ins;
        for (const Node* in : n.inputs()) ins.push_back(tensor_of(in));
        Tensor target = slot_tensor(slot);
        const Tensor result = evaluate_node(n, ins, [&target](DType, const Shape&) { return target; });
        if (result.raw_data() != target.raw_data() || !result.is_contiguous()) copy_into(result, target);
    }

    Tensor slot_tensor(std::size_t slot) const {
        const Slot& s = s_.slots[slot];
        switch (s.kind) {
        case Slot::Kind::input: return *inputs_[s.index];
        case Slot::Kind::literal: return s_.literals[s.index];
        case Slot::Kind::output: return outputs_[s.index];
        case Slot::Kind::buffer: break;
        }
        return Tensor::on_storage(ws_.buffers[s.index].storage(), s.node->dtype(), s.node->shape());
    }

    // Any node as a tensor: a slot's, or made from its inputs (views, constants).
    Tensor tensor_of(const Node* n) const {
        if (const int slot = s_.slot_of[static_cast<std::size_t>(n->id())]; slot >= 0)
            return slot_tensor(static_cast<std::size_t>(slot));
        std::vector<Tensor> ins;
        for (const Node* in : n->inputs()) ins.push_back(tensor_of(in));
        return evaluate_node(*n, ins);
    }
};

// Works out the schedule: slots, steps, and which temporaries share a buffer.
class JitProgram::Scheduler {
public:
    // in_place: per output, the input (placeholder index) it may be written over, or -1.
    Scheduler(const Plan& plan, std::span<const Node* const> placeholders, const std::vector<CompiledKernel>& kernels,
              std::span<const int> in_place)
        : plan_(plan), kernels_(kernels), in_place_(in_place) {
        const Graph& g = plan.outputs.front().graph();
        s_.slot_of.assign(static_cast<std::size_t>(g.size()), -1);
        for (std::size_t i = 0; i < placeholders.size(); ++i) add_slot(placeholders[i], Slot::Kind::input, i);
        first_output_.assign(static_cast<std::size_t>(g.size()), -1);
        for (std::size_t k = plan.outputs.size(); k-- > 0;)
            first_output_[static_cast<std::size_t>(plan.outputs[k].node()->id())] = static_cast<int>(k);
        for (const Node* n : plan.order)
            if (n->op() == Op::Literal) {
                add_slot(n, Slot::Kind::literal, s_.literals.size());
                s_.literals.push_back(n->attrs().literal->contiguous());
            }
    }

    Schedule run() {
        // Steps, and the slots they write and read.
        for (const PlanStep& step : plan_.steps) {
            if (step.kernel >= 0) add_kernel(static_cast<std::size_t>(step.kernel));
            else add_node(step.node);
        }
        // Outputs no step writes.
        reads_.emplace_back();
        for (std::size_t k = 0; k < plan_.outputs.size(); ++k) {
            const Node* n = plan_.outputs[k].node();
            const int first = first_output_[static_cast<std::size_t>(n->id())];
            const int slot = s_.slot_of[static_cast<std::size_t>(n->id())];
            const bool written = slot >= 0 && s_.slots[static_cast<std::size_t>(slot)].kind == Slot::Kind::output;
            if (written && first == static_cast<int>(k)) continue;
            s_.late.push_back({k, first == static_cast<int>(k) ? -1 : first, n, in_place_[k] >= 0});
            if (first == static_cast<int>(k)) sources(n, reads_.back());
        }
        order_in_place_writes();
        share_buffers();
        return std::move(s_);
    }

private:
    const Plan& plan_;
    const std::vector<CompiledKernel>& kernels_;
    std::span<const int> in_place_;
    Schedule s_;
    std::vector<int> step_kernel_;  // per step: its kernel in plan_.kernels, or -1
    std::vector<int> first_output_;  // per node id: the first output it is, or -1
    // Per step (and one more for the late outputs): the slots it writes and reads.
    std::vector<std::vector<std::size_t>> writes_, reads_;

    std::size_t add_slot(const Node* n, Slot::Kind kind, std::size_t index) {
        s_.slots.push_back({kind, index, n});
        s_.slot_of[static_cast<std::size_t>(n->id())] = static_cast<int>(s_.slots.size() - 1);
        return s_.slots.size() - 1;
    }
    // The slot a step writes `n` into: the caller's output tensor when n is an output.
    std::size_t written_slot(const Node* n) {
        const int k = first_output_[static_cast<std::size_t>(n->id())];
        const std::size_t slot = k >= 0 ? add_slot(n, Slot::Kind::output, static_cast<std::size_t>(k))
                                        : add_slot(n, Slot::Kind::buffer, 0);  // buffer chosen later
        writes_.back().push_back(slot);
        return slot;
    }
    std::size_t slot_of(const Node* n) const {
        const int slot = s_.slot_of[static_cast<std::size_t>(n->id())];
        if (slot < 0) throw InternalError(fmt::format("JIT: %{} is read before a step writes it", n->id()));
        return static_cast<std::size_t>(slot);
    }
    // The slots reading `n` as a tensor reads: its own, or those of the nodes it is made from.
    void sources(const Node* n, std::vector<std::size_t>& out) const {
        if (const int slot = s_.slot_of[static_cast<std::size_t>(n->id())]; slot >= 0) {
            out.push_back(static_cast<std::size_t>(slot));
            return;
        }
        for (const Node* in : n->inputs()) sources(in, out);
    }

    void add_kernel(std::size_t index) {
        const FusedKernel& fk = plan_.kernels[index];
        writes_.emplace_back();
        reads_.emplace_back();
        step_kernel_.push_back(static_cast<int>(index));
        KernelStep k;
        k.fn = kernels_[index].fn;
        k.chunks = chunks_of(fk.spec);
        k.rows = fk.spec.rows();
        k.len = fk.spec.row_length();
        k.empty = fk.domain.numel() == 0;
        for (const Node* src : fk.operand_sources) k.reads.push_back(slot_of(src));
        reads_.back() = k.reads;
        for (const Node* n : fk.stored) k.writes.push_back(written_slot(n));
        bool overflow = false;
        for (std::size_t i = 0; i < fk.reduced.size(); ++i) {
            const Node* r = fk.reduced[i];
            KernelStep::Sum sum;
            sum.bytes = fk.spec.is_any(fk.spec.reductions[i]);
            sum.slot = written_slot(r);
            sum.size = r->shape().numel();
            sum.dtype = r->dtype();
            // As the interpreter scales a mean: count of outputs over count of inputs.
            if (r->op() == Op::Mean) sum.scale = static_cast<double>(sum.size) / static_cast<double>(fk.domain.numel());
            if (r->op() == Op::Max || r->op() == Op::Min) sum.combine = r->op();
            sum.partial = k.partial_size;
            std::int64_t count = 0;
            std::size_t total = 0;
            overflow = overflow || __builtin_mul_overflow(k.chunks.count, sum.size, &count) ||
                       __builtin_add_overflow(k.partial_size, static_cast<std::size_t>(count), &total);
            k.partial_size = total;
            k.sums.push_back(sum);
        }
        if (!fk.reduced.empty() && (overflow || k.partial_size > s_.partial_size)) {
            s_.partial_size = overflow ? s_.partial_size : k.partial_size;
            s_.partial_node = fk.reduced.front();
            s_.partial_chunks = k.chunks.count;
            s_.partial_overflow = s_.partial_overflow || overflow;
        }
        const std::size_t width = k.reads.size() + k.writes.size() + k.sums.size();
        s_.args_size = std::max(s_.args_size, width * static_cast<std::size_t>(k.chunks.count));
        s_.steps.push_back({Step::Kind::kernel, s_.kernels.size()});
        s_.kernels.push_back(std::move(k));
    }

    // A 2-D operand of a product as BLAS takes it: a slot read in place, maybe transposed.
    struct Matrix {
        std::size_t slot = 0;
        bool trans = false;
        std::int64_t ld = 0;
    };
    // `n` as a slot seen through transposes and reshapes, with its element strides.
    std::optional<std::pair<std::size_t, std::vector<std::int64_t>>> strided(const Node* n) const {
        if (const int slot = s_.slot_of[static_cast<std::size_t>(n->id())]; slot >= 0)
            return std::pair{static_cast<std::size_t>(slot), contiguous_strides(n->shape())};
        if (n->op() == Op::Transpose) {
            auto in = strided(n->input(0));
            if (!in) return std::nullopt;
            std::vector<std::int64_t> s;
            for (auto a : n->attrs().axes) s.push_back(in->second[static_cast<std::size_t>(a)]);
            return std::pair{in->first, std::move(s)};
        }
        if (n->op() == Op::Reshape) {
            auto in = strided(n->input(0));
            if (!in) return std::nullopt;
            const Shape& from = n->input(0)->shape();
            const auto want = contiguous_strides(from);
            for (int d = 0; d < from.rank(); ++d)
                if (from[d] != 1 && in->second[static_cast<std::size_t>(d)] != want[static_cast<std::size_t>(d)]) return std::nullopt;
            return std::pair{in->first, contiguous_strides(n->shape())};
        }
        return std::nullopt;
    }
    // As matmul_kernel's as_blas: row-major with a leading dimension, or its transpose.
    std::optional<Matrix> matrix(const Node* n) const {
        const auto v = strided(n);
        if (!v || n->shape().rank() != 2) return std::nullopt;
        const auto& s = v->second;
        const std::int64_t rows = n->shape()[0], cols = n->shape()[1];
        if (s[1] == 1 && s[0] >= std::max<std::int64_t>(cols, 1)) return Matrix{v->first, false, s[0]};
        if (s[0] == 1 && s[1] >= std::max<std::int64_t>(rows, 1)) return Matrix{v->first, true, s[1]};
        return std::nullopt;
    }

    void add_node(const Node* n) {
        writes_.emplace_back();
        reads_.emplace_back();
        step_kernel_.push_back(-1);
        if (n->op() == Op::MatMul) {
            const auto a = matrix(n->input(0)), b = matrix(n->input(1));
            const std::int64_t m = n->shape()[0], cols = n->shape()[1], inner = n->input(0)->shape()[1];
            if (a && b && n->input(0)->dtype() == n->dtype() && n->input(1)->dtype() == n->dtype() &&
                detail::is_small_matmul(m, cols, inner)) {
                MatmulStep mm{a->slot, b->slot, written_slot(n), a->trans, b->trans, m, cols, inner, a->ld, b->ld,
                              n->dtype()};
                reads_.back() = {a->slot, b->slot};
                s_.steps.push_back({Step::Kind::matmul, s_.matmuls.size()});
                s_.matmuls.push_back(mm);
                return;
            }
        }
        for (const Node* in : n->inputs()) sources(in, reads_.back());
        s_.steps.push_back({Step::Kind::node, written_slot(n)});
    }

    // Whether `step` computes its result correctly when that result is written over `input`
    // (a slot), which it may read: a kernel reads it only element by element at the index it
    // stores (all of an element's loads come before its stores), a matmul_acc only as the
    // accumulator BLAS updates where it is; any other step not at all.
    bool writes_over_safely(std::size_t step, std::size_t input) const {
        const Step& st = s_.steps[step];
        if (st.kind == Step::Kind::kernel) {
            const KernelStep& k = s_.kernels[st.index];
            const KernelSpec& spec = plan_.kernels[static_cast<std::size_t>(step_kernel_[step])].spec;
            std::vector<std::int64_t> same_element(spec.dims.size(), 1);
            for (std::size_t d = spec.dims.size() - 1; d-- > 0;) same_element[d] = same_element[d + 1] * spec.dims[d + 1];
            for (std::size_t j = 0; j < k.reads.size(); ++j)
                if (k.reads[j] == input && spec.operands[j] != same_element) return false;
            return true;
        }
        if (st.kind == Step::Kind::matmul) {
            const MatmulStep& m = s_.matmuls[st.index];
            return m.a != input && m.b != input;
        }
        const Node* n = s_.slots[st.index].node;
        for (std::size_t a = 0; a < n->inputs().size(); ++a) {
            const Node* in = n->inputs()[a];
            if (n->op() == Op::MatMulAcc && a == 2 && s_.slot_of[static_cast<std::size_t>(in->id())] == static_cast<int>(input))
                continue;
            std::vector<std::size_t> read;
            sources(in, read);
            if (std::find(read.begin(), read.end(), input) != read.end()) return false;
        }
        return true;
    }

    // Outputs written over inputs: each step writing one goes after every other step reading
    // its input (the steps are reordered); one that cannot is staged (a buffer, copied at the
    // end).
    void order_in_place_writes() {
        const std::size_t steps = writes_.size();
        constexpr std::size_t none = ~std::size_t{0};
        std::vector<std::size_t> writer(s_.slots.size(), none);
        for (std::size_t i = 0; i < steps; ++i)
            for (std::size_t slot : writes_[i]) writer[slot] = i;
        std::vector<std::vector<std::size_t>> after(steps);
        for (std::size_t j = 0; j < steps; ++j)
            for (std::size_t slot : reads_[j])
                if (writer[slot] != none && writer[slot] != j) after[j].push_back(writer[slot]);
        const auto reads = [&](std::size_t step, std::size_t slot) {
            return std::find(reads_[step].begin(), reads_[step].end(), slot) != reads_[step].end();
        };
        std::vector<detail::InPlaceWrite> writes;
        std::vector<std::size_t> written;  // the output slot of each write
        for (std::size_t k = 0; k < plan_.outputs.size(); ++k) {
            if (in_place_[k] < 0) continue;
            const int slot = s_.slot_of[static_cast<std::size_t>(plan_.outputs[k].node()->id())];
            if (slot < 0 || s_.slots[static_cast<std::size_t>(slot)].kind != Slot::Kind::output ||
                s_.slots[static_cast<std::size_t>(slot)].index != k)
                continue;  // a late output: copied at the end
            const auto out = static_cast<std::size_t>(slot), input = static_cast<std::size_t>(in_place_[k]);
            const std::size_t w = writer[out];
            // The late outputs are copied after every step: one reading the input needs it intact.
            if (!writes_over_safely(w, input) || reads(steps, input)) {
                stage(out);
                continue;
            }
            detail::InPlaceWrite write{w, {}};
            for (std::size_t j = 0; j < steps; ++j)
                if (j != w && reads(j, input)) write.readers.push_back(j);
            writes.push_back(std::move(write));
            written.push_back(out);
        }
        if (writes.empty() && s_.staged.empty()) return;
        const detail::InPlaceOrder planned = detail::order_in_place_writes(after, writes);
        for (std::size_t j = 0; j < writes.size(); ++j)
            if (!planned.in_place[j]) stage(written[j]);
        std::vector<Step> ordered_steps;
        std::vector<int> ordered_kernels;
        std::vector<std::vector<std::size_t>> ordered_reads, ordered_writes;
        for (std::size_t i : planned.order) {
            ordered_steps.push_back(s_.steps[i]);
            ordered_kernels.push_back(step_kernel_[i]);
            ordered_reads.push_back(std::move(reads_[i]));
            ordered_writes.push_back(std::move(writes_[i]));
        }
        ordered_reads.push_back(std::move(reads_.back()));
        s_.steps = std::move(ordered_steps);
        step_kernel_ = std::move(ordered_kernels);
        reads_ = std::move(ordered_reads);
        writes_ = std::move(ordered_writes);
    }

    // Output `slot` goes to a buffer that lives to the end of the run, copied out then.
    void stage(std::size_t slot) {
        Slot& s = s_.slots[slot];
        s_.staged.push_back({slot, s.index});
        s.kind = Slot::Kind::buffer;
        s.index = 0;
        reads_.back().push_back(slot);
    }

    // Temporaries whose lifetimes do not overlap share a buffer of their size: a step's
    // results take buffers freed by earlier steps, then the buffers of values no later step
    // reads are freed (never those of the step's own inputs before it has run). A kernel's
    // result may also take the buffer of an operand read for the last time by that kernel,
    // element by element at the index stored (as writes_over_safely): written in place, the
    // result lands in cache lines the kernel has just read instead of lines it must fetch.
    void share_buffers() {
        std::vector<std::size_t> last_use(s_.slots.size(), 0);
        for (std::size_t step = 0; step < reads_.size(); ++step) {
            for (std::size_t slot : reads_[step]) last_use[slot] = std::max(last_use[slot], step);
            if (step < writes_.size())
                for (std::size_t slot : writes_[step]) last_use[slot] = std::max(last_use[slot], step);
        }
        std::vector<std::size_t> free;  // buffers
        std::vector<bool> handed_over(s_.slots.size(), false);  // a slot whose buffer a result took
        for (std::size_t step = 0; step < writes_.size(); ++step) {
            for (std::size_t slot : writes_[step]) {
                Slot& s = s_.slots[slot];
                if (s.kind != Slot::Kind::buffer) continue;
                const std::size_t bytes = bytes_of(*s.node);
                const auto dying = std::find_if(reads_[step].begin(), reads_[step].end(), [&](std::size_t o) {
                    return s_.slots[o].kind == Slot::Kind::buffer && last_use[o] == step && !handed_over[o] &&
                           bytes_of(*s_.slots[o].node) == bytes && s_.steps[step].kind == Step::Kind::kernel &&
                           writes_over_safely(step, o);
                });
                if (dying != reads_[step].end()) {
                    s.index = s_.slots[*dying].index;
                    handed_over[*dying] = true;
                    continue;
                }
                auto it = std::find_if(free.begin(), free.end(), [&](std::size_t b) { return bytes_of(*s_.buffers[b]) == bytes; });
                if (it != free.end()) {
                    s.index = *it;
                    free.erase(it);
                } else {
                    s.index = s_.buffers.size();
                    s_.buffers.push_back(s.node);
                }
            }
            auto release = [&](std::size_t slot) {
                const Slot& s = s_.slots[slot];
                if (s.kind == Slot::Kind::buffer && last_use[slot] == step && !handed_over[slot] &&
                    std::find(free.begin(), free.end(), s.index) == free.end())
                    free.push_back(s.index);
            };
            for (std::size_t slot : reads_[step]) release(slot);
            for (std::size_t slot : writes_[step]) release(slot);
        }
    }
};

JitProgram::JitProgram(Plan plan, const std::vector<InPlace>& in_place)
    : Program(plan.outputs, in_place), graph_nodes_(plan.outputs.front().graph().nodes_owner()), plan_(std::move(plan)) {
    Engine& engine = Engine::instance();
    // Kernels already in the engine's memory cache are taken here, on this thread; the others
    // compile side by side (the engine is thread-safe) when there are several. An exception
    // cannot leave an OpenMP region, so the first one is carried out and rethrown.
    kernels_.assign(plan_.kernels.size(), {});
    for (FusedKernel& k : plan_.kernels) k.spec.streaming_stores = k.spec.streaming_stores || wants_streaming_stores(k.spec);
    std::vector<std::size_t> missing;
    for (std::size_t k = 0; k < plan_.kernels.size(); ++k)
        if (!(kernels_[k] = engine.find(plan_.kernels[k].spec)).fn) missing.push_back(k);
    std::exception_ptr error;
    const auto count = static_cast<std::int64_t>(missing.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1)
    for (std::int64_t m = 0; m < count; ++m) {
        const std::size_t k = missing[static_cast<std::size_t>(m)];
        try {
            kernels_[k] = engine.compile(plan_.kernels[k].spec);
        } catch (...) {
#pragma omp critical(nnjit_compile_error)
            if (!error) error = std::current_exception();
        }
    }
    if (count > 1) parallel_region_done();  // as run_chunks: no thread left spinning
    if (error) std::rethrow_exception(error);
    schedule_ = std::make_unique<const Schedule>(Scheduler(plan_, placeholder_nodes(), kernels_, in_place_inputs()).run());
}

JitProgram::~JitProgram() = default;

// Buffers are allocated here, at the first run (or the first of several at once), not when
// the program is made: a temporary too large to allocate is an error of the run.
std::unique_ptr<JitProgram::Workspace> JitProgram::make_workspace() const {
    const Schedule& s = *schedule_;
    auto ws = std::make_unique<Workspace>();
    for (const Node* n : s.buffers) ws->buffers.push_back(Tensor::empty(n->dtype(), n->shape()));
    ws->pointers.assign(s.slots.size(), nullptr);
    for (std::size_t i = 0; i < s.slots.size(); ++i) {
        const Slot& slot = s.slots[i];
        if (slot.kind == Slot::Kind::literal) ws->pointers[i] = const_cast<void*>(s.literals[slot.index].raw_data());
        if (slot.kind == Slot::Kind::buffer) ws->pointers[i] = ws->buffers[slot.index].raw_data();
    }
    ws->args.assign(s.args_size, nullptr);
    if (s.partial_node != nullptr) {
        // Allocated without throwing: a sanitizer's allocator aborts where the plain one
        // throws bad_alloc.
        if (!s.partial_overflow) ws->partial.reset(new (std::nothrow) double[s.partial_size]);
        if (!ws->partial)
            throw UserError(fmt::format("cannot allocate the partial sums of a {} of shape {} ({} chunks)",
                                        op_name(s.partial_node->op()), s.partial_node->shape(), s.partial_chunks));
    }
    ws->copies.resize(placeholder_nodes().size());
    return ws;
}

void JitProgram::execute(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const {
    const ParallelCall call;  // its kernels and products share OpenMP's workers, released at the end
    Lease lease(*this);
    Run(*schedule_, *lease, inputs, outputs)();
}

void JitProgram::run_into(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const {
    check_inputs(inputs);
    check_outputs(outputs, inputs);
    execute(inputs, outputs);
}

void JitProgram::run_into(const Bindings& bindings, std::span<Tensor> outputs) const {
    std::vector<const Tensor*> inputs(placeholder_nodes().size());
    find_inputs(bindings, inputs);
    check_outputs(outputs, inputs);
    execute(inputs, outputs);
}

std::vector<Tensor> JitProgram::run(const Bindings& bindings) const {
    std::vector<const Tensor*> inputs(placeholder_nodes().size());
    find_inputs(bindings, inputs);
    // Outputs are fresh: never a view of a caller's tensor or a literal, never the same
    // storage twice.
    std::vector<Tensor> outputs;
    for (const Value& v : plan_.outputs) outputs.push_back(Tensor::empty(v.dtype(), v.shape()));
    execute(inputs, outputs);
    return outputs;
}

}  // namespace nnjit::jit

// Placeholders: the leaves a tensor is bound to by name when an expression runs.
//
//   constexpr auto x  = input<"x", float, Dims<Dynamic, 784>>;   // data: any batch of 784
//   constexpr auto W1 = parameter<"W1", float, Dims<784, 128>>;  // trainable
//
// The name, dtype and Dims are part of the type, so two uses of `x` are the same leaf (and the
// same graph node), and d(e, x) finds x by type. Dynamic dimensions take their size from the
// tensor bound to the name; a bound tensor that contradicts a static dimension is a UserError.
#pragma once

#include <string>
#include <string_view>

#include "nnjit/error.hpp"
#include "nnjit/expr/expression.hpp"
#include "nnjit/expr/fixed_string.hpp"
#include "nnjit/graph.hpp"
#include "nnjit/program.hpp"

namespace nnjit {

enum class PlaceholderKind { input, parameter };

// A tensor bound to a placeholder, as written `x = tensor` in a call to eval().
struct NamedTensor {
    std::string name;
    Tensor tensor;
};

template <PlaceholderKind Kind, FixedString Name, ElementType T, class D> struct Placeholder : ExprTag {
    using value_type = T;
    using dims = D;
    static constexpr bool loopable = true;
    static constexpr PlaceholderKind kind = Kind;
    static constexpr std::string_view name() { return Name.view(); }

    // `x = tensor` binds (see eval()); placeholders are constants, so this is const.
    NamedTensor operator=(Tensor tensor) const { return {std::string(name()), std::move(tensor)}; }

    // The shape of this placeholder: its static dims, or the bound tensor's shape when a
    // dimension is dynamic (checked against the static ones).
    static Shape resolve_shape(const Bindings& bindings) {
        const auto it = bindings.find(name());
        if (it == bindings.end()) {
            if constexpr (D::is_static) {
                return Shape(std::vector<std::int64_t>(D::list.dims, D::list.dims + D::rank));
            } else {
                throw UserError(fmt::format("{} '{}' has dynamic dimensions {}: bind a tensor to it to fix them",
                                            kind_name(), name(), format_dims(D::list)));
            }
        }
        check(it->second);
        return it->second.shape();
    }

    // Throws UserError unless `t` has this placeholder's dtype and fits its dims.
    static void check(const Tensor& t) {
        if (t.dtype() != dtype_of<T>())
            throw UserError(fmt::format("{} '{}' is declared {}, the tensor bound to it is {}", kind_name(), name(),
                                        dtype_of<T>(), t.dtype()));
        if (!matches_dims(D::list, t.shape()))
            throw UserError(fmt::format("{} '{}' is declared with dims {}, the tensor bound to it has shape {}",
                                        kind_name(), name(), format_dims(D::list), t.shape()));
    }

    Value emit(Graph& g, const Bindings& bindings) const {
        const Shape shape = resolve_shape(bindings);
        if constexpr (Kind == PlaceholderKind::input) return g.input(name(), dtype_of<T>(), shape);
        else return g.parameter(name(), dtype_of<T>(), shape);
    }

    static constexpr std::string_view kind_name() { return Kind == PlaceholderKind::input ? "input" : "parameter"; }
};

template <class E> constexpr bool is_placeholder_v = false;
template <PlaceholderKind K, FixedString N, class T, class D>
constexpr bool is_placeholder_v<Placeholder<K, N, T, D>> = true;

template <FixedString Name, ElementType T, class D = Dims<>>
inline constexpr Placeholder<PlaceholderKind::input, Name, T, D> input{};

template <FixedString Name, ElementType T, class D = Dims<>>
inline constexpr Placeholder<PlaceholderKind::parameter, Name, T, D> parameter{};

}  // namespace nnjit

// The compile-time expression DSL, all of it: placeholders and constants, every op of the table
// as a function or operator, to_graph() and run(), eval() (one fused loop) and d() (the
// compile-time derivative). See each header for its part.
#pragma once

#include "nnjit/expr/constant.hpp"
#include "nnjit/expr/derivative.hpp"
#include "nnjit/expr/dims.hpp"
#include "nnjit/expr/elementwise.hpp"
#include "nnjit/expr/eval.hpp"
#include "nnjit/expr/expression.hpp"
#include "nnjit/expr/fixed_string.hpp"
#include "nnjit/expr/layout.hpp"
#include "nnjit/expr/loss.hpp"
#include "nnjit/expr/matmul.hpp"
#include "nnjit/expr/normalization.hpp"
#include "nnjit/expr/placeholder.hpp"
#include "nnjit/expr/reduction.hpp"
#include "nnjit/expr/shaped_like.hpp"
#include "nnjit/expr/to_graph.hpp"

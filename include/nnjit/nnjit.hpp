// nnjit's public API in one include: tensors, the graph IR and its factories, autodiff, the
// engines, and the compile-time expression DSL.
#pragma once

#include "nnjit/autodiff.hpp"
#include "nnjit/dtype.hpp"
#include "nnjit/engine.hpp"
#include "nnjit/error.hpp"
#include "nnjit/expr/expr.hpp"
#include "nnjit/graph.hpp"
#include "nnjit/graph_ops.hpp"
#include "nnjit/interpreter.hpp"
#include "nnjit/program.hpp"
#include "nnjit/shape.hpp"
#include "nnjit/tensor.hpp"

// Neural networks on the graph IR: dense layers with any activation, a sequential/MLP
// builder, losses, optimizers (SGD with momentum, Adam), a trainer that compiles a whole
// training step into one plan, inference-only plans, and weights save/load.
//
//   auto net = nn::mlp({784, 256, 256, 10}, nn::Activation::relu());
//   nn::Trainer trainer(net, nn::Loss::softmax_cross_entropy, nn::Adam(1e-3),
//                       {.backend = Backend::interp, .batch_size = 128, .seed = 1});
//   for (int e = 0; e < 10; ++e) trainer.train_epoch(x_train, y_train_one_hot);
//   double acc = trainer.accuracy(x_test, y_test_one_hot);
#pragma once

#include "nnjit/nn/activation.hpp"
#include "nnjit/nn/dataset.hpp"
#include "nnjit/nn/dense.hpp"
#include "nnjit/nn/diagnostics.hpp"
#include "nnjit/nn/loss.hpp"
#include "nnjit/nn/optimizer.hpp"
#include "nnjit/nn/parameters.hpp"
#include "nnjit/nn/predictor.hpp"
#include "nnjit/nn/sequential.hpp"
#include "nnjit/nn/trainer.hpp"
#include "nnjit/nn/weights.hpp"

// Checkpoints: a directory with model.json (architecture, input shape, parameter table)
// and one .npy per parameter tensor (float64, PyTorch layout), readable by numpy/PyTorch.
// Writes are atomic: a temporary directory renamed into place.
#pragma once
#include <map>
#include <string>

#include "nn/model.hpp"

namespace inflab::nn {

struct Checkpoint {
  Model model;
  Tensor theta;
};

// `extra`: more files (name → contents) written into the same directory before it is renamed
// into place, so they land together with the parameters or not at all.
void save_checkpoint(const std::string& dir, const Model& model, const Tensor& theta,
                     const std::map<std::string, std::string>& extra = {});
// Errors name the file: a missing model.json or .npy, a wrong shape or dtype, an unknown
// layer kind, a model.json that is not inflab's.
Checkpoint load_checkpoint(const std::string& dir);

// One tensor as .npy (float64, C order), atomically; and back.
void save_npy(const std::string& path, const Tensor& t);
std::string npy_bytes(const Tensor& t);  // the same file's contents (for save_checkpoint's extra files)
Tensor load_npy(const std::string& path);

}  // namespace inflab::nn

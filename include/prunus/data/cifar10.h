// CIFAR-10, official binary format: each record is 1 label byte (0-9) then
// 1024 R, 1024 G and 1024 B bytes of a row-major 32x32 image.
#pragma once
#include <string>
#include <vector>

#include "prunus/data/dataset.h"

namespace prunus {
namespace data {

constexpr int kCifar10RecordBytes = 1 + 3 * 32 * 32;

// Concatenates the records of `files` in order. Throws Error naming the file
// if one is missing, is not a whole number of records, or has a label > 9.
Dataset load_cifar10(const std::vector<std::string>& files);

// "<dir>/data_batch_<i>.bin" for each i, e.g. cifar10_batch_files(dir, {1, 2, 3, 4}).
std::vector<std::string> cifar10_batch_files(const std::string& dir, const std::vector<int>& batches);

}  // namespace data
}  // namespace prunus

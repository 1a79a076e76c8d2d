// IDX files (MNIST, Fashion-MNIST): big-endian headers, magic 2051 for a
// [count, rows, cols] uint8 image file and 2049 for a [count] label file.
// Files may be raw or gzip-compressed (.gz, as officially distributed).
#pragma once
#include <string>

#include "prunus/data/dataset.h"

namespace prunus {
namespace data {

// One-channel images. num_classes is the largest label + 1. Throws Error
// naming the file for a missing/unreadable file, a wrong magic number, zero
// dimensions, truncation or trailing data, or a count mismatch between files.
Dataset load_idx(const std::string& images_path, const std::string& labels_path);

}  // namespace data
}  // namespace prunus

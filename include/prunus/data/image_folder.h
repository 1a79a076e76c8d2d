// Image folders: root/<class>/<image>, one subfolder per class, labels in
// sorted folder-name order (like torchvision's ImageFolder). Images are
// decoded with stb_image (JPEG, PNG, BMP), converted to RGB, their shorter
// side resized to image_size (bilinear) and centre-cropped to a square.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prunus/data/dataset.h"
#include "prunus/data/image_decode.h"

namespace prunus {
namespace data {

// Files that cannot be decoded are skipped. Their paths are appended to
// `skipped_files` when given; otherwise a warning listing them goes to
// stderr. Throws Error if root has no class folders, holds no files, or no
// file at all can be decoded. Hidden files (".name") are ignored.
Dataset load_image_folder(const std::string& root, int image_size,
                          std::vector<std::string>* skipped_files = nullptr);

// Interleaved (HWC) uint8 image of width x height x channels -> planar (CHW)
// size x size: shorter side scaled to `size` with bilinear interpolation
// (pixel centres aligned, edges clamped), then the centre square cut out.
std::vector<uint8_t> resize_and_center_crop(const uint8_t* interleaved, int width, int height,
                                            int channels, int size);

}  // namespace data
}  // namespace prunus

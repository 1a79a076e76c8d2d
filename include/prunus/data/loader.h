// Loader: turns a Dataset into shuffled, augmented float batches. A
// background thread prepares up to kPrefetchBatches batches ahead while the
// caller computes. The order of an epoch depends only on (seed, epoch) and
// each sample's augmentation only on (seed, epoch, position), so a resumed
// run sees exactly the batches it would have seen.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "prunus/data/augment.h"
#include "prunus/data/dataset.h"
#include "prunus/tensor.h"

namespace prunus {
namespace data {

struct Batch {
  Tensor images;            // f32 [B, C, H, W] on the CPU
  std::vector<int> labels;  // B labels
  int64_t global_size = 0;  // images in this batch over every shard (= B unsharded)
};

// The dataset indices of epoch `epoch` in visiting order: 0..n-1, shuffled
// (Fisher-Yates with an Rng seeded by seed and epoch) when `shuffle`.
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int epoch);

class Loader {
 public:
  static constexpr int kPrefetchBatches = 3;

  // The dataset is referenced, not copied: it must outlive the Loader and
  // stay unchanged while an epoch runs.
  Loader(const Dataset& dataset, int batch_size, bool shuffle, Augmentation aug, uint64_t seed,
         bool drop_last = false);
  Loader(Dataset&&, int, bool, Augmentation, uint64_t, bool = false) = delete;  // would dangle
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Stops any epoch in progress and starts preparing epoch `epoch` from its
  // batch `first_batch` (0-based; > 0 resumes an epoch interrupted after that
  // many batches: the remaining ones are those an uninterrupted epoch sees).
  void start_epoch(int epoch, int64_t first_batch = 0);
  // The next batch of the epoch; false at its end. Rethrows an error raised
  // while preparing a batch.
  bool next(Batch& batch);
  // Seconds next() spent waiting for the worker since start_epoch.
  double wait_seconds() const { return wait_seconds_; }
  int64_t batches_per_epoch() const;
  // Data-parallel training: from the next start_epoch on, each batch is this
  // shard's contiguous part (shard `index` of `count`) of the batch a single
  // loader makes, with the same images and augmentation, so the shards of N
  // processes together are exactly the one-process batch. Every batch,
  // the last included, must hold at least `count` images.
  void set_shard(int index, int count);
  int64_t size() const { return dataset_.size(); }
  int batch_size() const { return batch_size_; }

 private:
  struct Entry {
    Batch batch;
    std::exception_ptr error;
  };
  void produce(int epoch, std::vector<int64_t> order, int64_t first_batch);
  Batch make_batch(int epoch, const std::vector<int64_t>& order, int64_t first, int64_t count) const;
  void stop_worker();

  const Dataset& dataset_;
  const int batch_size_;
  const bool shuffle_;
  const Augmentation aug_;
  const uint64_t seed_;
  const bool drop_last_;
  const int64_t expected_images_;  // dataset size at construction, re-checked each epoch

  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;  // queue or flags changed; both sides wait on it
  std::deque<Entry> queue_;
  bool worker_done_ = false;         // the worker has pushed its last entry
  bool stop_requested_ = false;
  bool epoch_started_ = false;
  double wait_seconds_ = 0.0;
  int shard_index_ = 0, shard_count_ = 1;
};

}  // namespace data
}  // namespace prunus

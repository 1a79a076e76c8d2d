#include "prunus/data/loader.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "prunus/error.h"

namespace prunus {
namespace data {

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  // Hashed (seed, epoch), with constants unlike sample_seed's so the two streams differ.
  Rng rng(mix64(mix64(seed + 0x73687566666c6521ULL) ^ (uint64_t(uint32_t(epoch)) + 0xd1b54a32d192ed03ULL)));
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(uint64_t(i) + 1)]);
  return order;
}

Loader::Loader(const Dataset& dataset, int batch_size, bool shuffle, Augmentation aug, uint64_t seed,
               bool drop_last)
    : dataset_(dataset),
      batch_size_(batch_size),
      shuffle_(shuffle),
      aug_(std::move(aug)),
      seed_(seed),
      drop_last_(drop_last),
      expected_images_(dataset.size()) {
  validate(dataset_);
  validate(aug_, dataset_.channels);
  PRUNUS_CHECK(batch_size_ > 0, "Loader: batch_size is ", batch_size_, ", expected >= 1");
  PRUNUS_CHECK(dataset_.size() > 0, "Loader: dataset '", dataset_.name, "' has no images");
  PRUNUS_CHECK(batches_per_epoch() > 0, "Loader: dataset '", dataset_.name, "' has ", dataset_.size(),
               " images, fewer than one batch of ", batch_size_, " with drop_last");
}

Loader::~Loader() { stop_worker(); }

int64_t Loader::batches_per_epoch() const {
  const int64_t n = dataset_.size();
  return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

void Loader::set_shard(int index, int count) {
  PRUNUS_CHECK(count >= 1 && index >= 0 && index < count, "Loader: shard ", index, " of ", count, " does not exist");
  const int64_t batches = batches_per_epoch();
  const int64_t smallest = std::min<int64_t>(batch_size_, dataset_.size() - (batches - 1) * batch_size_);
  PRUNUS_CHECK(smallest >= count, "Loader: the last batch of dataset '", dataset_.name, "' holds ", smallest,
               " images, fewer than the ", count, " processes sharing it; choose a batch size that leaves more");
  stop_worker();
  shard_index_ = index;
  shard_count_ = count;
}

void Loader::stop_worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_requested_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  stop_requested_ = false;
  queue_.clear();
}

void Loader::start_epoch(int epoch, int64_t first_batch) {
  PRUNUS_CHECK(first_batch >= 0 && first_batch <= batches_per_epoch(), "Loader: cannot start epoch ", epoch,
               " at batch ", first_batch, "; it has ", batches_per_epoch(), " batches");
  stop_worker();
  std::vector<int64_t> order = epoch_order(dataset_.size(), shuffle_, seed_, epoch);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    worker_done_ = false;
    wait_seconds_ = 0.0;
    epoch_started_ = true;
  }
  worker_ = std::thread(&Loader::produce, this, epoch, std::move(order), first_batch);
}

Batch Loader::make_batch(int epoch, const std::vector<int64_t>& order, int64_t first, int64_t count) const {
  const Dataset& d = dataset_;
  Batch batch;
  batch.images = Tensor::empty({count, d.channels, d.height, d.width});
  batch.labels.resize(static_cast<size_t>(count));
  float* out = batch.images.f32();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t position = first + i, index = order[position];
    Rng rng(sample_seed(seed_, epoch, position));
    const AugmentChoice choice = draw_choice(aug_, rng);
    augment_image(d.image(index), d.channels, d.height, d.width, aug_, choice, out + i * d.image_bytes());
    batch.labels[i] = d.labels[index];
  }
  return batch;
}

void Loader::produce(int epoch, std::vector<int64_t> order, int64_t first_batch) {
  try {
    const Dataset& d = dataset_;
    PRUNUS_CHECK(d.size() == expected_images_ && int64_t(d.pixels.size()) == d.size() * d.image_bytes(),
                 "Loader: dataset '", d.name, "' changed after the Loader was made: it had ",
                 expected_images_, " images, now ", d.size(), " labels and ", d.pixels.size(),
                 " pixel bytes");
    const int64_t batches = batches_per_epoch();
    for (int64_t b = first_batch; b < batches; ++b) {
      const int64_t first = b * batch_size_, global = std::min<int64_t>(batch_size_, d.size() - first);
      const int64_t begin = first + global * shard_index_ / shard_count_;
      const int64_t end = first + global * (shard_index_ + 1) / shard_count_;
      Batch batch = make_batch(epoch, order, begin, end - begin);
      batch.global_size = global;
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stop_requested_ || int(queue_.size()) < kPrefetchBatches; });
      if (stop_requested_) break;
      queue_.push_back(Entry{std::move(batch), nullptr});
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Entry{Batch{}, std::current_exception()});
  }
  std::lock_guard<std::mutex> lock(mutex_);
  worker_done_ = true;
  changed_.notify_all();
}

bool Loader::next(Batch& batch) {
  PRUNUS_CHECK(epoch_started_, "Loader::next: call start_epoch(epoch) before asking for batches");
  Entry entry;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (queue_.empty() && !worker_done_) {
      const auto start = std::chrono::steady_clock::now();
      changed_.wait(lock, [&] { return !queue_.empty() || worker_done_; });
      wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (queue_.empty()) return false;
    entry = std::move(queue_.front());
    queue_.pop_front();
  }
  changed_.notify_all();
  if (entry.error) std::rethrow_exception(entry.error);
  batch = std::move(entry.batch);
  return true;
}

}  // namespace data
}  // namespace prunus

// Runs that lose nothing: SIGTERM in the middle of an epoch saves the step
// and the resumed run ends byte-identical to an uninterrupted one (plain
// training and the pruning pipeline's sparse phase, whose L1 strengths come
// from the model at the epoch's start); a diverging run stops with one
// sentence and leaves a loadable model; checkpoints survive a full disk.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "prunus/io/checkpoint.h"
#include "prunus/app/prune_pipeline.h"
#include "prunus/train/run_checkpoint.h"
#include "prunus/train/stop_request.h"
#include "prunus/app/training_run.h"
#include "train_fixtures.h"

using namespace prunus;
using namespace train_fixtures;
namespace fs = std::filesystem;

namespace {

// Raises a real SIGTERM (through the installed handler) after the given
// global step, counting every optimizer step of the run from 1.
std::function<void(const train::StepInfo&)> sigterm_after(int64_t step, int64_t* counter) {
  return [step, counter](const train::StepInfo&) {
    if (++*counter == step) std::raise(SIGTERM);
  };
}

std::string interruption_message(const std::function<void()>& run, int* signal) {
  try {
    run();
  } catch (const train::Interrupted& e) {
    *signal = e.signal();
    return e.what();
  }
  return "";
}

bool holds_temporary_file(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".tmp") return true;
  return false;
}

}  // namespace

TEST_SUITE("train") {
  TEST_CASE("signals: SIGTERM finishes the step, saves it mid-epoch, and the resumed run ends byte-identical") {
    const train::DataSplits data = synthetic_splits(8);  // 45 images, batch 16: 3 steps per epoch
    TempDir dir("sigterm");
    const std::string out = dir / "run";
    const io::Config config = tiny_run_config(out, 3);
    app::TrainRunOptions quiet;
    quiet.log = nullptr;
    REQUIRE(app::run_training(config, data, quiet).finished);
    const std::vector<char> reference = file_bytes(out + "/final.bin");
    REQUIRE(reference.size() > 1000);

    // Step 5 is the second of epoch 2 (mid-epoch); step 9 the last of the run
    // (the epoch ends, then the run stops before its final evaluation).
    for (const int64_t stop_step : {5, 9}) {
      CAPTURE(stop_step);
      fs::remove_all(out);
      int64_t steps = 0;
      int signal = 0;
      std::string message;
      {
        const train::StopOnSignals handler;
        app::TrainRunOptions stopping = quiet;
        stopping.after_step = sigterm_after(stop_step, &steps);
        message = interruption_message([&] { app::run_training(config, data, stopping); }, &signal);
      }
      CHECK(signal == SIGTERM);
      CHECK(steps == stop_step);  // the step in progress finished; no other began
      CHECK(message.find('\n') == std::string::npos);
      CHECK(message.find("stopped by SIGTERM") == 0);
      CHECK(message.find(out + "/checkpoint.bin") != std::string::npos);
      CHECK_FALSE(fs::exists(out + "/final.bin"));
      CHECK_FALSE(holds_temporary_file(out));
      const io::Checkpoint saved = io::read_checkpoint(out + "/checkpoint.bin");
      if (stop_step == 5) {
        CHECK(message.find("after step 2 of 3 in epoch 2/3") != std::string::npos);
        CHECK(train::describe_checkpoint(saved) == "training state of phase 'train' after epoch 1 and 2 steps of epoch 2");
        CHECK(train::checkpoint_epoch_progress(saved).images == 32);
      } else {
        CHECK(message.find("after epoch 3/3") != std::string::npos);
        CHECK(train::checkpoint_epoch(saved) == 3);
      }

      train::clear_stop_request();  // a new process starts without one
      // What a SIGKILL during a write would leave: the restarted run deletes it.
      io::write_file_atomic(out + "/killed_write.tmp", "partial");
      app::TrainRunOptions resume = quiet;
      resume.resume = true;
      const auto rest = app::run_training(config, data, resume);
      CHECK(rest.finished);
      CHECK(file_bytes(out + "/final.bin") == reference);
      CHECK_FALSE(holds_temporary_file(out));
    }
  }

  TEST_CASE("signals: SIGTERM inside a sparse-training epoch; the resumed pipeline ends identical") {
    const train::DataSplits data = synthetic_splits(8);
    TempDir dir("sigterm_pipeline");
    app::PipelineOptions quiet;
    quiet.log = nullptr;
    quiet.timing_seconds = 0.01;
    const auto whole = app::run_prune_pipeline(tiny_prune_config(dir / "whole"), data, quiet);
    REQUIRE(whole.finished);

    // Baseline: steps 1-3; sparse epoch 1: 4-6 (the regularizer then re-weighs
    // its strengths from the sparser model); step 8 is inside sparse epoch 2.
    const io::Config config = tiny_prune_config(dir / "cut");
    int64_t steps = 0;
    int signal = 0;
    std::string message;
    {
      const train::StopOnSignals handler;
      app::PipelineOptions stopping = quiet;
      stopping.after_step = sigterm_after(8, &steps);
      message = interruption_message([&] { app::run_prune_pipeline(config, data, stopping); }, &signal);
    }
    CHECK(signal == SIGTERM);
    CHECK(message.find("after step 2 of 3 in epoch 2/2 of phase 'sparse'") != std::string::npos);
    CHECK_FALSE(holds_temporary_file(dir / "cut"));
    train::clear_stop_request();
    const auto resumed = app::run_prune_pipeline(config, data, quiet);
    REQUIRE(resumed.finished);
    CHECK(resumed.started_at == "sparse");
    CHECK(resumed.flops_reduction == whole.flops_reduction);
    REQUIRE(resumed.stages.size() == whole.stages.size());
    for (size_t i = 0; i < whole.stages.size(); ++i) {
      CAPTURE(whole.stages[i].stage);
      CHECK(resumed.stages[i].val.loss == whole.stages[i].val.loss);
    }
    const io::Checkpoint a = io::read_checkpoint(dir / "whole/stage_finetune.bin");
    const io::Checkpoint b = io::read_checkpoint(dir / "cut/stage_finetune.bin");
    for (const auto& [name, tensor] : a.tensors) {
      REQUIRE(b.has_tensor(name));
      CHECK_MESSAGE(tensor.to_vector() == b.tensor(name).to_vector(), name);
    }
  }

  TEST_CASE("divergence: lr 1e6 stops with one sentence and leaves a loadable model in diverged.bin") {
    const train::DataSplits data = synthetic_splits(8);
    TempDir dir("diverge");
    io::Config config = tiny_run_config(dir / "run", 3);
    config.set("train.lr", "1e6", "test");
    app::TrainRunOptions quiet;
    quiet.log = nullptr;
    std::string message;
    try {
      app::run_training(config, data, quiet);
    } catch (const train::TrainingDiverged& e) {
      message = e.what();
    }
    INFO(message);
    REQUIRE(message.find("training stopped at epoch 1, step ") == 0);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.find("lower the learning rate") != std::string::npos);
    CHECK(message.find(dir / "run/diverged.bin") != std::string::npos);
    const io::Checkpoint diverged = io::read_checkpoint(dir / "run/diverged.bin");
    CHECK(train::load_model(diverged) != nullptr);
    CHECK(train::checkpoint_phase(diverged) == "train");
    CHECK_FALSE(fs::exists(dir / "run/checkpoint.bin"));  // no epoch ended: no good state to keep
  }

  TEST_CASE("disk full: a checkpoint write that runs out of space fails naming the file and keeps the old one") {
    TempDir dir("disk_full");
    const std::string path = dir / "checkpoint.bin";
    io::Checkpoint small;
    small.put_string("note", "the previous checkpoint");
    io::write_checkpoint(path, small);
    const std::vector<char> before = file_bytes(path);
    io::Checkpoint large;
    large.put_tensor("big", Tensor::zeros({256, 1024}));  // 1 MiB

    // A file size limit stands in for a full disk: write(2) fails with EFBIG
    // instead of ENOSPC, through the same code path.
    struct rlimit saved {};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit tight = saved;
    tight.rlim_cur = 64 * 1024;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &tight) == 0);
    std::string message;
    try {
      io::write_checkpoint(path, large);
    } catch (const Error& e) {
      message = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, previous_handler);
    INFO(message);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find("large") != std::string::npos);  // strerror(EFBIG): "File too large"
    CHECK(file_bytes(path) == before);
    CHECK_FALSE(fs::exists(path + ".tmp"));
    CHECK(io::read_checkpoint(path).string("note") == "the previous checkpoint");
  }
}

#!/usr/bin/python3
"""PyTorch -> prunus -> ONNX, checked against the real peers (issue #13).

1. trains a PyTorch CIFAR ResNet-20 (option-A shortcuts, the pytorch_resnet_cifar10 naming) a little on
   CIFAR-10 data_batch_1, saves its state dict as safetensors;
2. `prunus import`s it and compares prunus's logits with PyTorch's on the same 256 val images;
3. `prunus prune`s it (a short schedule) into a compact model, `prunus export`s the dense and the compact
   model to ONNX, runs both in onnxruntime and compares with prunus's logits, and times them.
Needs Debian's python3-torch and, from PyPI, onnxruntime and safetensors; run by
experiments/interop/cross_check.sh (`make interop-check`), which skips where they are absent.
Usage: cross_check.py PRUNUS_BINARY CIFAR10_DIR WORK_DIR
"""
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import load_file as load_numpy, save_file as save_numpy
from safetensors.torch import save_file

PRUNUS, CIFAR, WORK = sys.argv[1:4]
MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32).reshape(1, 3, 1, 1)  # prunus's cifar10 normalization
STD = np.array([0.2023, 0.1994, 0.2010], np.float32).reshape(1, 3, 1, 1)
torch.manual_seed(0)
torch.set_num_threads(1)


def log(*parts):
    print(*parts, flush=True)


def cifar_batch(name, limit=None):
    raw = np.fromfile(os.path.join(CIFAR, name), np.uint8).reshape(-1, 3073)[:limit]
    images = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return ((images - MEAN) / STD).astype(np.float32), raw[:, 0].astype(np.int64)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def shortcut(self, x):  # option A: subsample, zero channels split around
        if self.stride == 1 and self.pad == 0:
            return x
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages, cin = [], 16
        for i, cout in enumerate([16, 32, 64]):
            blocks = []
            for b in range(3):
                blocks.append(Block(cin, cout, 2 if i > 0 and b == 0 else 1))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(x.mean((2, 3)))


def run(*args):
    log("$ " + " ".join(args))
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    for line in out.strip().splitlines()[-3:]:
        log("  " + line)
    return out


def ort_session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ort_images_per_second(session, batch, seconds=3.0):
    x = np.random.default_rng(0).standard_normal((batch, 3, 32, 32)).astype(np.float32)
    session.run(None, {"input": x})
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 5:
        t = time.perf_counter()
        session.run(None, {"input": x})
        times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


def main():
    os.makedirs(WORK, exist_ok=True)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    log(f"machine: {cpu}, {os.cpu_count()} cores; python {platform.python_version()}, torch {torch.__version__}, "
        f"onnxruntime {ort.__version__}")

    # 1. PyTorch training (short: the point is a model trained elsewhere, not its accuracy).
    x_train, y_train = cifar_batch("data_batch_1.bin")
    x_val, y_val = cifar_batch("data_batch_5.bin", 256)
    model = ResNet20()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    model.train()
    start = time.time()
    for epoch in range(2):
        order = torch.randperm(len(x_train))
        for i in range(0, len(order) - 127, 128):
            idx = order[i:i + 128]
            loss = F.cross_entropy(model(torch.from_numpy(x_train[idx])), torch.from_numpy(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        log(f"torch epoch {epoch + 1}: last loss {loss.item():.3f} ({time.time() - start:.0f}s)")
    model.eval()
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(x_val)).numpy()
    log(f"torch val accuracy on the 256 images: {(torch_logits.argmax(1) == y_val).mean() * 100:.1f}%")
    weights = os.path.join(WORK, "torch_resnet20.safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, weights)
    inputs = os.path.join(WORK, "val256.safetensors")
    save_numpy({"input": x_val}, inputs)

    # 2. Into prunus.
    imported = os.path.join(WORK, "imported.bin")
    run(PRUNUS, "import", "--safetensors", weights, "--model", "resnet20", "--out", imported,
        "--config", "experiments/configs/cifar10_resnet20.conf", "--set", f"data.path={CIFAR}")
    prunus_out = os.path.join(WORK, "prunus_dense_logits.safetensors")
    run(PRUNUS, "eval", "--checkpoint", imported, "--inputs", inputs, "--logits", prunus_out)
    prunus_logits = load_numpy(prunus_out)["logits"]
    diff_import = float(np.abs(prunus_logits - torch_logits).max())
    log(f"RESULT import: max |prunus - torch| logits = {diff_import:.2e} (max |logit| "
        f"{np.abs(torch_logits).max():.2f}), top-1 agreement "
        f"{(prunus_logits.argmax(1) == torch_logits.argmax(1)).mean() * 100:.1f}%")

    # 3. Prune in prunus, export, run in onnxruntime.
    prune_dir = os.path.join(WORK, "prune")
    run(PRUNUS, "prune", "--config", "experiments/configs/cifar10_resnet20.conf", "--set", f"data.path={CIFAR}",
        "--set", f"prune.baseline_checkpoint={imported}", "--set", "prune.flops_target=0.5",
        "--set", "prune.sparse_epochs=1", "--set", "prune.finetune_epochs=1",
        "--set", "data.train_files=data_batch_1.bin", "--set", "train.threads=2", "--set", f"out.dir={prune_dir}")
    compact = os.path.join(prune_dir, "compact.bin")
    report = {}
    for name, checkpoint in [("dense", imported), ("compact", compact)]:
        onnx_path = os.path.join(WORK, f"{name}.onnx")
        run(PRUNUS, "export", "--checkpoint", checkpoint, "--out", onnx_path)
        logits_path = os.path.join(WORK, f"prunus_{name}_logits.safetensors")
        run(PRUNUS, "eval", "--checkpoint", checkpoint, "--inputs", inputs, "--logits", logits_path)
        ours = load_numpy(logits_path)["logits"]
        session = ort_session(onnx_path)
        theirs = session.run(None, {"input": x_val})[0]
        diff = float(np.abs(ours - theirs).max())
        report[name] = (diff, os.path.getsize(onnx_path), ort_images_per_second(session, 1),
                        ort_images_per_second(session, 128))
        log(f"RESULT onnx {name}: max |onnxruntime - prunus| logits = {diff:.2e}; file {report[name][1]} bytes; "
            f"onnxruntime {report[name][2]:.0f} img/s at batch 1, {report[name][3]:.0f} img/s at batch 128 "
            f"(2 threads)")
    summary = open(os.path.join(prune_dir, "report.md")).read().splitlines()
    log("pruned model: " + next((l for l in summary if l.startswith("- MACs:")), "?").strip())
    log(f"RESULT onnxruntime speed-up compact/dense: {report['compact'][2] / report['dense'][2]:.2f}x at batch 1, "
        f"{report['compact'][3] / report['dense'][3]:.2f}x at batch 128")
    ok = diff_import < 1e-4 and all(r[0] < 1e-4 for r in report.values())
    log("PASS: every difference below 1e-4" if ok else "FAIL: a difference reached 1e-4")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

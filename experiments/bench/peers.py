#!/usr/bin/python3
"""The peers of prunus_bench on the same shapes: PyTorch (conv forward,
backward-data, backward-weight through aten.convolution_backward, the path
autograd takes; model training steps and inference) and OpenBLAS SGEMM
through numpy. Run with Debian's /usr/bin/python3 (python3-torch,
python3-numpy with libopenblas0).

  peers.py --shapes shapes.csv [--threads N] [--reps R] [--model-reps R]
           [--csv FILE] [--cpu-time] [--only sgemm|conv|models|pruned] [--filter TEXT] [--pass P]

shapes.csv comes from `prunus_bench --list-shapes`. Output rows match
prunus_bench's: group,name,pass,value,unit,ms; in the sgemm group the pass is
"openblas" or "torch", naming the peer.
"""
import argparse
import csv
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", required=True, help="CSV from prunus_bench --list-shapes")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--model-reps", type=int, default=3)
    p.add_argument("--csv", help="write the results here")
    p.add_argument("--cpu-time", action="store_true",
                   help="time by thread CPU time (needs --threads 1); for busy machines")
    p.add_argument("--only", choices=["sgemm", "conv", "models", "pruned"])  # pruned: no peer rows yet
    p.add_argument("--filter", default="", help="only shapes whose name contains this")
    p.add_argument("--pass", dest="pass_name", default="",
                   help="only this pass: forward, bwd_data, bwd_weight, train, infer")
    p.add_argument("--quick", action="store_true", help="accepted for prunus_bench's sake; the shapes file decides")
    return p.parse_args()


args = parse_args()
if args.cpu_time and args.threads != 1:
    sys.exit("peers.py: --cpu-time measures one thread; use it with --threads 1")
# Thread counts must be fixed before numpy / torch load their libraries.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(args.threads)
clock = time.thread_time if args.cpu_time else time.perf_counter


def best_seconds(run, reps):
    """Best of reps timed runs after a warm-up run."""
    run()
    best = float("inf")
    for _ in range(reps):
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


rows = []


def wants(pass_name):
    return not args.pass_name or args.pass_name == pass_name


def report_value(group, name, pass_name, value, unit, seconds):
    print(f"  {name:34s} {pass_name:10s} {value:9.1f} {unit:8s} {seconds * 1e3:10.3f} ms", flush=True)
    rows.append((group, name, pass_name, f"{value:.3f}", unit, f"{seconds * 1e3:.4f}"))


def report(group, name, pass_name, flops, seconds):
    report_value(group, name, pass_name, flops / seconds * 1e-9, "GFLOP/s", seconds)


def bench_sgemm(shape):
    m, n, k = int(shape["M"]), int(shape["N"]), int(shape["K"])
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    c = np.empty((m, n), dtype=np.float32)
    report("sgemm", shape["name"], "openblas", 2.0 * m * n * k,
           best_seconds(lambda: np.matmul(a, b, out=c), args.reps))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    tc = torch.empty((m, n), dtype=torch.float32)
    report("sgemm", shape["name"], "torch", 2.0 * m * n * k,
           best_seconds(lambda: torch.matmul(ta, tb, out=tc), args.reps))


def bench_conv(shape):
    n, c, h, w = (int(shape[key]) for key in ("batch", "in_channels", "height", "width"))
    f, kernel, stride, pad = (int(shape[key]) for key in ("out_channels", "kernel", "stride", "padding"))
    g = torch.Generator().manual_seed(2)
    x = torch.rand((n, c, h, w), generator=g) * 2 - 1
    weight = torch.rand((f, c, kernel, kernel), generator=g) * 2 - 1
    oh, ow = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
    dy = torch.rand((n, f, oh, ow), generator=g) * 2 - 1
    flops = 2.0 * n * f * oh * ow * c * kernel * kernel
    conv_args = ([stride, stride], [pad, pad], [1, 1], False, [0, 0], 1)

    def backward(mask):
        return lambda: torch.ops.aten.convolution_backward(dy, x, weight, None, *conv_args, mask)

    with torch.no_grad():
        if wants("forward"):
            report("conv", shape["name"], "forward", flops,
                   best_seconds(lambda: torch.nn.functional.conv2d(x, weight, None, stride, pad), args.reps))
        if wants("bwd_data"):
            report("conv", shape["name"], "bwd_data", flops, best_seconds(backward([True, False, False]), args.reps))
        if wants("bwd_weight"):
            report("conv", shape["name"], "bwd_weight", flops, best_seconds(backward([False, True, False]), args.reps))


class OptionAShortcut(torch.nn.Module):
    """CIFAR ResNet shortcut "option A": subsample by 2, zero-pad channels."""

    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return torch.nn.functional.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(torch.nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = OptionAShortcut(planes) if stride != 1 or in_planes != planes else nn.Identity()

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def resnet_cifar(depth, classes=10):
    """The same network as prunus's models::resnet_cifar."""
    nn = torch.nn
    n = (depth - 2) // 6
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    in_planes = 16
    for planes, stride in ((16, 1), (32, 2), (64, 2)):
        for b in range(n):
            layers.append(BasicBlock(in_planes, planes, stride if b == 0 else 1))
            in_planes = planes
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


def vgg16(classes=10):
    """The same network as prunus's models::vgg16 (HRank's CIFAR layout)."""
    nn = torch.nn
    layers, channels = [], 3
    for width in (64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0):
        if width == 0:
            layers.append(nn.MaxPool2d(2))
            continue
        layers += [nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        channels = width
    layers += [nn.Flatten(), nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def bench_model(shape):
    arch, batch = shape["arch"], int(shape["batch"])
    torch.manual_seed(1)
    model = vgg16() if arch == "vgg16" else resnet_cifar(int(arch[len("resnet"):]))
    images = torch.randn(batch, 3, 32, 32)
    labels = torch.randint(0, 10, (batch,))
    sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def train_step():
        sgd.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        sgd.step()

    if wants("train"):
        model.train()
        seconds = best_seconds(train_step, args.model_reps)
        report_value("models", shape["name"], "train", batch / seconds, "img/s", seconds)
    if wants("infer"):
        model.eval()
        with torch.no_grad():
            seconds = best_seconds(lambda: model(images), args.model_reps)
        report_value("models", shape["name"], "infer", batch / seconds, "img/s", seconds)


def main():
    with open(args.shapes) as f:
        shapes = list(csv.DictReader(f))
    print(f"peers.py: torch {torch.__version__}, numpy {np.__version__}, {args.threads} threads, "
          f"{'thread CPU' if args.cpu_time else 'wall-clock'} time, best of {args.reps}")
    for shape in shapes:
        if (args.only and shape["group"] != args.only) or args.filter not in shape["name"]:
            continue
        if shape["group"] == "sgemm":
            bench_sgemm(shape)
        elif shape["group"] == "conv":
            bench_conv(shape)
        elif shape["group"] == "models":
            bench_model(shape)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["group", "name", "pass", "value", "unit", "ms"])
            out.writerows(rows)


main()

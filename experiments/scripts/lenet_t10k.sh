# Sourced by resume_check.sh and distributed_check.sh: a short LeNet run on the
# 10,000 t10k images of Fashion-MNIST (`make deps`) or MNIST, used for training
# and validation alike, so that a whole run takes seconds.
#   lenet_t10k_args NAME OUT_DIR EPOCHS THREADS   sets the array LENET_ARGS
#                                                 (NAME prefixes the error when no data is found)
lenet_t10k_args() {
  local name=$1 out_dir=$2 epochs=$3 threads=$4 dir data=""
  for dir in data/fashion-mnist /usr/share/datasets/fashion-mnist data/mnist ../shared/data/mnist; do
    if [ -f "$dir/t10k-images-idx3-ubyte.gz" ]; then data=$dir; break; fi
  done
  [ -n "$data" ] || { echo "$name: no Fashion-MNIST or MNIST found; \`make deps\` installs Fashion-MNIST" >&2; exit 1; }
  LENET_DATA=$data
  LENET_ARGS=(--config experiments/configs/mnist_lenet.conf
              --set data.path="$data"
              --set data.train_files=t10k-images-idx3-ubyte.gz,t10k-labels-idx1-ubyte.gz
              --set data.val_files=t10k-images-idx3-ubyte.gz,t10k-labels-idx1-ubyte.gz
              --set data.augment=true --set train.epochs="$epochs" --set train.threads="$threads"
              --set out.dir="$out_dir")
}

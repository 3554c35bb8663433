#!/usr/bin/env bash
# Issue 4's speed comparison in one session: the PyTorch peer on the same architecture and batch, our VaeBenchmarks
# (BenchmarkDotNet), then the peer again. These machines are shared, so the peer runs on both sides of ours and the
# results compare against the peer's better run of the two (the conservative ratio).
# Needs Debian's python3-torch and libopenblas0-openmp for the peer.
set -euo pipefail
cd "$(dirname "$0")/.."
peer() {
  for t in 1 2; do
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$t /usr/bin/python3 benchmarks/peers/vae_torch.py $t
  done
}
peer
dotnet run -c Release --project benchmarks -- --filter '*VaeBenchmarks*' "$@"
peer

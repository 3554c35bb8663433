#!/usr/bin/env bash
# Issue 4's speed comparison in one session: our VaeBenchmarks (BenchmarkDotNet), then the PyTorch peer on the
# same architecture and batch. Needs Debian's python3-torch and libopenblas0-openmp for the peer.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project benchmarks -- --filter '*VaeBenchmarks*' "$@"
for t in 1 2; do
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$t /usr/bin/python3 benchmarks/peers/vae_torch.py $t
done

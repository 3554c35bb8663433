#!/usr/bin/python3
"""PyTorch peer for the VAE benchmarks: the same architecture, batch and work as
benchmarks/Models/VaeBenchmarks.cs, timed on this machine in the same session.

784-400-(20,20) / 20-400-784, ReLU, Bernoulli decoder, Adam lr 1e-3, batch 128.
Prints JSON: training samples/s and the k=1000 importance-sampling log-likelihood's images/s.
Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset so OpenBLAS takes its AVX-512 kernel.
"""
import json, math, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)

class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400); self.fc21 = nn.Linear(400, 20); self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400); self.fc4 = nn.Linear(400, 784)
    def encode(self, x):
        h = F.relu(self.fc1(x)); return self.fc21(h), self.fc22(h)
    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

model = Vae()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = (torch.rand(128, 784) > 0.5).float()

def step():
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    logits = model.decode(z)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction='sum')
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    loss = (rec + kl) / x.shape[0]
    opt.zero_grad(); loss.backward(); opt.step()

for _ in range(50): step()
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < 5.0:
    step(); n += 1
train_sps = n * 128 / (time.perf_counter() - t0)

@torch.no_grad()
def loglik(xb, k=1000, chunk=100):
    mu, logvar = model.encode(xb)
    std = torch.exp(0.5 * logvar)
    parts = []
    for s in range(0, k, chunk):
        eps = torch.randn(chunk, *mu.shape)
        z = mu + std * eps
        logits = model.decode(z)
        lpx = -F.binary_cross_entropy_with_logits(logits, xb.expand(chunk, -1, -1), reduction='none').sum(-1)
        lpz = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
        lqz = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(-1)
        parts.append(lpx + lpz - lqz)
    return torch.logsumexp(torch.cat(parts, 0), 0) - math.log(k)

xb = x[:100]
loglik(xb)
t0 = time.perf_counter(); reps = 0
while time.perf_counter() - t0 < 5.0:
    loglik(xb); reps += 1
eval_ips = reps * 100 / (time.perf_counter() - t0)
print(json.dumps({"peer": f"pytorch {torch.__version__}", "threads": threads,
                  "train_samples_per_second": round(train_sps, 1), "loglik_k1000_images_per_second": round(eval_ips, 1)}))

"""Page faults per call of a sigmoid-and-product training step of LiqExp1N2's sensory size under `jax.jit`.

Run it with and without glibc's huge pages (docs/performance.md, "Huge pages on JAX"); it prints one line:

    python docs/benchmarks/2026-12-07-huge-pages/faults.py
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 python docs/benchmarks/2026-12-07-huge-pages/faults.py
"""
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

rng = np.random.default_rng(0)
values = jnp.asarray(rng.normal(size=(64, 28, 400)), jnp.float32)  # a batch's 28 slices' 400 features
sigma = jnp.asarray(rng.uniform(3, 8, size=(6, 400)), jnp.float32)  # fanout 6
offset = jnp.asarray(rng.normal(size=(6, 400)), jnp.float32)
weights = jnp.asarray(rng.normal(size=(2400, 24)), jnp.float32)


def loss(values, sigma, offset):
    activation = jax.nn.sigmoid(jnp.expand_dims(values, -2) * sigma + offset).reshape(64, 28, 2400)
    return jnp.sum((activation @ weights) ** 2)


step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
for _ in range(3):
    jax.block_until_ready(step(values, sigma, offset))
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range(20):
    jax.block_until_ready(step(values, sigma, offset))
after = resource.getrusage(resource.RUSAGE_SELF)
print(f"ms/call {(time.perf_counter() - start) / 20 * 1000:.1f}, minor faults/call {(after.ru_minflt - before.ru_minflt) / 20:.0f}, "
      f"user {(after.ru_utime - before.ru_utime) / 20 * 1000:.1f} ms/call, system {(after.ru_stime - before.ru_stime) / 20 * 1000:.1f} ms/call")

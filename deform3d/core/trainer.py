"""The trainer: a plain loop that records every optimizer step's weights into a Trajectory.

Owns: training (data order, initialisation, the gradient step, Adam/SGD) and the per-step metrics.
The network is tiny, so the step is written out by hand (forward, backward, optimizer) on flat
parameter vectors: no autograd graph, and recording a step is a single row copy. The step works on a
stack of R parameter vectors at once (runs of one shape, each with its own data, initialisation and
batch order: ``train_many``, which ``deform3d.core.sweeps`` batches on); a single run is the stack of one,
which gives exactly the weights of a one-vector step. A test holds the hand-written gradients and
optimizers to torch's autograd and torch.optim within float tolerance.
"""

from __future__ import annotations

import functools
import math
import platform
import threading
from contextlib import contextmanager

import numpy as np
import torch

from . import activations
from .config import TrainConfig
from .data import Dataset, load_dataset
from .geometry import Weights
from .geometry import step_metrics as geometry_step_metrics
from .model import Net, torch_act
from .progress import Progress
from .trajectory import Trajectory

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
# Floats per iteration of torch's vectorised CPU loops (two AVX-512 vectors; AVX2's 16 divides it).
# A tensor's elements past the last whole chunk go through the scalar code, which may round apart.
VECTOR_CHUNK = 32


_one_thread_lock = threading.Lock()
_one_thread_users = 0  # callers inside one_thread() now, in any thread
_one_thread_outer = 1  # torch's thread count before the first of them entered


@functools.cache
def _thread_count_is_per_thread() -> bool:
    """Whether torch.set_num_threads in one thread leaves the others alone (OpenMP builds, as the
    Linux wheels are) or is one setting for the whole process (builds on torch's native pool)."""
    before = torch.get_num_threads()
    probe = threading.Thread(target=torch.set_num_threads, args=(before + 1,))
    probe.start()
    probe.join()
    per_thread = torch.get_num_threads() == before
    torch.set_num_threads(before)
    return per_thread


@contextmanager
def one_thread():
    """Run torch on one thread meanwhile (then restore the caller's setting).

    This network's ops are tiny: a second intra-op thread only adds synchronisation, and on a busy
    CPU its waits stall. Measured on this 2-core machine with other jobs running: a default run
    took 1.2 s on one thread and 6 to 40 s on two.

    Two threads may train at once (a window's live run beside a script's). Where the setting is per
    thread, each caller restores its own. Where it is one for the process, saving it per caller
    would let the first to finish raise it under the other, and leave the process on one thread
    once the other restored the 1 it saw: there the first to enter saves it and the last to leave
    restores it (a count under a lock).
    """
    global _one_thread_users, _one_thread_outer
    with _one_thread_lock:
        per_thread = _thread_count_is_per_thread()
        mine = torch.get_num_threads()
        if _one_thread_users == 0:
            _one_thread_outer = mine
        _one_thread_users += 1
        torch.set_num_threads(1)
    try:
        yield
    finally:
        with _one_thread_lock:
            _one_thread_users -= 1
            if per_thread:
                torch.set_num_threads(mine)
            elif _one_thread_users == 0:
                torch.set_num_threads(_one_thread_outer)


# Seeding goes through torch's global generator (nn.Linear's initialisation takes no generator in
# every torch this supports): one thread at a time, or two runs at once would draw each other's.
_seed_lock = threading.Lock()


def initial_weights(config: TrainConfig) -> torch.Tensor:
    """The seeded initial weights as a flat vector (torch's default nn.Linear initialisation)."""
    with _seed_lock, torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = Net(config.hidden, config.activation)
    return torch.cat([p.detach().reshape(-1) for p in net.parameters_in_order()]).clone()


class _Step:
    """Gradient of the mean binary cross-entropy for one batch, into a flat buffer, by hand.

    ``theta``: one flat parameter vector (5k + 5,) or a stack of them (R, 5k + 5); ``grad`` has its
    shape. A call takes that run's batch, x (B, 2) and y (B,), or one batch per run, (R, B, 2) and
    (R, B). The stack goes through batched matmuls, which for R = 1 give the bits of the plain
    matmuls this step was first written with. So that run r of a stack gets the bits that run alone
    gets, a batch whose per-run tensors are not whole multiples of torch's vectorised loop
    (``VECTOR_CHUNK``) goes run by run: torch computes a tensor's tail element by element (std::tanh,
    not its vectorised tanh), and in a stack another run's elements would sit in that tail. With the
    defaults (batch 32 of 2000 points) only each epoch's last, partial batch of 16 goes run by run.
    """

    def __init__(self, theta: torch.Tensor, k: int, activation: str, grad: torch.Tensor | None = None):
        self.k, self.activation = k, activation
        self._fn, self._grad = torch_act(activation), activations.get(activation).grad
        self.grad = torch.zeros_like(theta) if grad is None else grad
        stack, grads = theta.view(-1, theta.shape[-1]), self.grad.view(-1, theta.shape[-1])
        self.p, self.g = self._views(stack), self._views(grads)
        # One single-run step per run, on its rows of the stack (used only for unaligned batches).
        self.runs = [] if len(stack) == 1 else [_Step(stack[r], k, activation, grads[r]) for r in range(len(stack))]

    def _views(self, flat: torch.Tensor) -> dict:
        out, i = {}, 0
        for name, shape in Weights.sizes(self.k):
            n = math.prod(shape)
            out[name] = flat[:, i : i + n].view((len(flat),) + (shape if shape else (1,)))
            i += n
        return out

    def _act(self, z: torch.Tensor):
        """(act(z), act'(z)) computed together: the derivative reuses act(z) (activations.TABLE)."""
        h = self._fn(z)
        return h, self._grad(h, torch)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        b = y.shape[-1]
        if self.runs and any(m % VECTOR_CHUNK for m in (b, 2 * b, self.k * b)):
            for r, run in enumerate(self.runs):
                run(x[r], y[r])
            return
        p, g = self.p, self.g
        x, y = x.view(-1, x.shape[-2], 2), y.view(-1, b)
        h1, d1 = self._act(torch.baddbmm(p["b1"].unsqueeze(1), x, p["W1"].transpose(1, 2)))
        h2, d2 = self._act(torch.baddbmm(p["b2"].unsqueeze(1), h1, p["W2"].transpose(1, 2)))
        z3 = torch.baddbmm(p["b3"].unsqueeze(1), h2, p["w3"].unsqueeze(2)).squeeze(2)
        # d(mean BCE)/d z3 = (sigmoid(z3) - y) / batch
        dz3 = torch.sigmoid(z3).sub_(y).div_(y.shape[1])
        torch.bmm(dz3.unsqueeze(1), h2, out=g["w3"].unsqueeze(1))
        torch.sum(dz3, 1, keepdim=True, out=g["b3"])
        dz2 = (dz3.unsqueeze(2) * p["w3"].unsqueeze(1)).mul_(d2)
        torch.bmm(dz2.transpose(1, 2), h1, out=g["W2"])
        torch.sum(dz2, 1, out=g["b2"])
        dz1 = torch.bmm(dz2, p["W2"]).mul_(d1)
        torch.bmm(dz1.transpose(1, 2), x, out=g["W1"])
        torch.sum(dz1, 1, out=g["b1"])


class _Adam:
    """torch.optim.Adam's update (default betas and eps, no weight decay) on a flat tensor or a stack.

    Element by element, so a stack of runs gets each run's own update (one learning rate for all).
    """

    def __init__(self, theta: torch.Tensor, lr: float):
        self.theta, self.lr, self.t = theta, lr, 0
        self.m, self.v = torch.zeros_like(theta), torch.zeros_like(theta)

    def __call__(self, grad: torch.Tensor) -> None:
        b1, b2 = ADAM_BETAS
        self.t += 1
        self.m.lerp_(grad, 1 - b1)
        self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = (self.v.sqrt() / math.sqrt(1 - b2**self.t)).add_(ADAM_EPS)
        self.theta.addcdiv_(self.m, denom, value=-self.lr / (1 - b1**self.t))


class _SGD:
    """torch.optim.SGD's update (optional momentum, no dampening) on a flat tensor or a stack."""

    def __init__(self, theta: torch.Tensor, lr: float, momentum: float):
        self.theta, self.lr, self.momentum, self.buf = theta, lr, momentum, None

    def __call__(self, grad: torch.Tensor) -> None:
        if self.momentum:
            self.buf = grad.clone() if self.buf is None else self.buf.mul_(self.momentum).add_(grad)
            grad = self.buf
        self.theta.add_(grad, alpha=-self.lr)


def train(config: TrainConfig = TrainConfig(), data: Dataset | None = None, progress=True, on_epoch=None) -> Trajectory:
    """Train the network a config describes; return every step's weights as a Trajectory.

    Bit-for-bit reproducible on the CPU for a given config (the seed drives the data, the initial
    weights and the batch order). ``progress``: True/None, False or a callable (done, total), as in
    deform3d.progress.
    ``on_epoch(record, steps)``: called after each epoch with the (total + 1, 5k + 5) float32
    tensor every step's weights go into and the number of steps done; rows 0..steps are final and
    never written again, so another thread may read them without a lock (``deform3d.core.live``). An
    exception it raises stops training and propagates.
    """
    data = load_dataset(config) if data is None else data
    hook = None if on_epoch is None else (lambda record, s: on_epoch(record[0], s))
    return train_many([config], [data], progress, hook)[0]


def batch_key(config: TrainConfig, points: int) -> tuple:
    """What runs must share to train as one stack: everything but the seed and the data's values.

    ``points``: the dataset's number of points (a CSV's count, or 2 x points per class).
    """
    return (
        config.hidden,
        config.activation,
        config.optimizer,
        config.lr,
        config.momentum,
        config.epochs,
        config.batch_size,
        points,
    )


def train_many(
    configs: list[TrainConfig], datas: list[Dataset] | None = None, progress=True, on_epoch=None
) -> list[Trajectory]:
    """Train runs of one shape (equal ``batch_key``) together, as one stack; one Trajectory each.

    Each run keeps its own seed-driven data, initial weights and batch order, exactly as ``train``
    gives it. ``on_epoch(record, steps)`` as for ``train``, with record (R, total + 1, 5k + 5).
    """
    datas = [load_dataset(c) for c in configs] if datas is None else datas
    config = configs[0]
    if len({batch_key(c, len(d.X)) for c, d in zip(configs, datas)}) != 1:
        raise ValueError(
            "train_many: runs differ in shape (k, activation, optimizer, lr, momentum, epochs, batch size or points)"
        )
    X = torch.stack([torch.from_numpy(np.ascontiguousarray(d.X, np.float32)) for d in datas])
    y = torch.stack([torch.from_numpy(d.y.astype(np.float32)) for d in datas])
    R, n, bs = len(configs), X.shape[1], config.batch_size
    steps_per_epoch = math.ceil(n / bs)
    total = steps_per_epoch * config.epochs

    theta = torch.stack([initial_weights(c) for c in configs])
    step = _Step(theta, config.hidden, config.activation)
    opt = _Adam(theta, config.lr) if config.optimizer == "adam" else _SGD(theta, config.lr, config.momentum)
    record = torch.empty(R, total + 1, theta.shape[1])
    record[:, 0] = theta
    orders = [torch.Generator().manual_seed(c.seed) for c in configs]
    runs = torch.arange(R).unsqueeze(1)

    s = 0
    with torch.no_grad(), one_thread(), Progress(total, "training", "step", progress) as bar:
        for _ in range(config.epochs):
            perm = torch.stack([torch.randperm(n, generator=g) for g in orders])
            Xp, yp = X[runs, perm], y[runs, perm]
            for i in range(0, n, bs):
                step(Xp[:, i : i + bs], yp[:, i : i + bs])
                opt(step.grad)
                s += 1
                record[:, s].copy_(theta)
            bar.update(steps_per_epoch)
            if on_epoch is not None:
                on_epoch(record, s)

    out = []
    for r, (c, d) in enumerate(zip(configs, datas)):
        weights = Weights.from_flat(record[r].numpy(), c.hidden)
        # Per-step full-dataset metrics are computed on first use (Trajectory.loss): they cost
        # several times what training a whole stack does (docs/design.md, "Metrics").
        out.append(Trajectory(weights, None, None, d.X, d.y, run_meta(c, d, steps_per_epoch)))
    return out


def run_meta(config: TrainConfig, data: Dataset, steps_per_epoch: int) -> dict:
    """A trajectory's metadata: what was trained, on what, and with which versions."""
    return base_meta(
        data.name, config.hidden, config.activation, steps_per_epoch, config=config.to_dict(), seed=config.seed
    )


def base_meta(dataset: str, hidden: int, activation: str, steps_per_epoch: int, **more) -> dict:
    """What every run's metadata holds, however it was trained (here, or in a user's loop: watcher)."""
    return {
        "dataset": dataset,
        "activation": activation,
        "hidden": hidden,
        "steps_per_epoch": steps_per_epoch,
        "versions": versions(),
        **more,
    }


def step_metrics(record, X, y, k: int, activation: str):
    """Full-dataset loss and accuracy at every recorded step: (S,) float32 arrays each.

    ``record`` (S, 5k + 5) flat weights, X (n, 2), y (n,): tensors or arrays. The one computation
    is ``geometry.step_metrics`` (numpy), which ``Trajectory`` also uses for runs that leave their
    metrics to first use, so every path gives the same bits.
    """
    record, X, y = (np.asarray(a.numpy() if isinstance(a, torch.Tensor) else a) for a in (record, X, y))
    return geometry_step_metrics(Weights.from_flat(record, k), X, y, activation)


def versions() -> dict:
    from . import __version__

    return {
        "deform3d": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }

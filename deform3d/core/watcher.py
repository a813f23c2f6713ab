"""Recording a user's own PyTorch training: ``deform3d.watch(model, optimizer, X, y)``.

Owns: recognising a user's ``nn.Module`` as the network 2 -> k -> 2 -> 1 that deform3d draws, the
per-step recording (an optimizer step hook that copies the parameters into one preallocated row),
and turning what was recorded into a Trajectory. The per-step loss and accuracy come from the
trainer's ``step_metrics`` (batched, after the loop) and the metadata from its ``base_meta``, so a
watched run and a trained run are built by the same code and look the same to everything else.

Imports torch (the API imports this module only when ``watch`` is called); never VisPy or Qt.
The module is not named ``watch``: a submodule named like an API function would replace
``deform3d.watch`` on the package once imported (see tests/test_api.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .config import HIDDEN
from .errors import UsageError
from .geometry import Weights
from .trainer import base_meta, step_metrics
from .trajectory import Trajectory

ACTIVATIONS = {nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.ReLU: "relu"}
SHAPE = "Linear(2, k), Tanh/Sigmoid/ReLU, Linear(k, 2), the same activation, Linear(2, 1), optional Sigmoid; k = 2..4"
CHUNK = 4096  # rows per buffer: recording allocates once per this many steps


def _describe(module: nn.Module) -> str:
    return f"{type(module).__name__}({module.extra_repr()})"


def _leaves(module: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """The layers in registration order, containers (Sequential, a module of modules) opened up.

    Reads ``_modules`` rather than ``children()``, which skips a module registered twice: in
    ``Sequential(Linear, act, Linear, act, Linear)`` one activation object may serve both places.
    """
    if not module._modules:
        return [(prefix or type(module).__name__, module)]
    out = []
    for name, child in module._modules.items():
        if child is not None:
            out += _leaves(child, f"{prefix}.{name}" if prefix else name)
    return out


def _called(model: nn.Module, layers: list[tuple[str, nn.Module]], X: torch.Tensor):
    """The layers in the order one forward pass on a few points calls them; None if it fails."""
    first = next(model.parameters(), None)
    if first is None:
        return None
    names, calls = {}, []
    for name, m in layers:
        names.setdefault(id(m), name)
    unique = {id(m): m for _, m in layers}.values()
    handles = [m.register_forward_hook(lambda layer, args, out: calls.append(layer)) for m in unique]
    try:
        with torch.no_grad():
            model(X[:4].to(first.device, first.dtype))
    except Exception:  # not a model this network could be: the registration order's error says why
        return None
    finally:
        for h in handles:
            h.remove()
    return [(names[id(m)], m) for m in calls]


class Network:
    """A user's model, recognised: its three Linear layers, its activation, k, and what it outputs.

    ``output``: "logit" (the last Linear's output) or "probability" (a final Sigmoid). deform3d's
    math treats the last Linear's output as the logit z3 either way.
    """

    def __init__(self, model: nn.Module, X: torch.Tensor):
        if not isinstance(model, nn.Module):
            raise UsageError(f"deform3d.watch needs a torch.nn.Module, got {type(model).__name__}") from None
        layers = _leaves(model)
        try:
            linears, act, k = self._match(layers)
        except UsageError as e:
            # Registration order is not always call order: a module may register fc1, fc2, out and
            # then one activation it calls twice. The order its forward calls them decides then.
            called = _called(model, layers, X)
            if called is None or called == layers:
                raise e from None
            try:
                linears, act, k = self._match(called)
            except UsageError:
                raise e from None
            layers = called
        self.model, self.linears, self.hidden = model, linears, k
        self.activation = ACTIVATIONS[act]
        self.output = "probability" if len(layers) == 6 else "logit"
        self.layers = [_describe(m) for _, m in layers]
        self.parameters = [t for lin in linears for t in (lin.weight, lin.bias)]  # the order of Weights
        ours = {id(t) for t in self.parameters}
        for pname, t in model.named_parameters(remove_duplicate=False):
            if id(t) not in ours:
                raise UsageError(
                    f"the model has a parameter {pname} {tuple(t.shape)} outside its Linear layers; "
                    f"deform3d draws only the network {SHAPE}"
                ) from None
        first = self.parameters[0]
        for t in self.parameters:
            if not t.is_contiguous():
                raise UsageError(
                    f"the model's parameter {tuple(t.shape)} is not contiguous in memory; "
                    "make it so (p.data = p.data.contiguous()) before deform3d.watch"
                ) from None
            if t.device != first.device or t.dtype != first.dtype or not t.dtype.is_floating_point:
                raise UsageError(
                    f"the model's parameters must share one device and one float dtype; found "
                    f"{first.dtype} on {first.device} and {t.dtype} on {t.device}"
                ) from None

    @classmethod
    def _match(cls, layers: list[tuple[str, nn.Module]]):
        """(linears, activation type, k) when the layers are the network; else UsageError naming the first misfit."""
        linears, act, k = [], None, None
        for i, (name, m) in enumerate(layers):
            expected = cls._expected(i, k, act)
            if expected is None:
                raise UsageError(
                    f"layer {name} ({_describe(m)}) does not fit: nothing may follow the output layer "
                    f"(the network deform3d draws: {SHAPE})"
                ) from None
            if not cls._fits(i, m, k, act):
                raise UsageError(
                    f"layer {name} ({_describe(m)}) does not fit: expected {expected} "
                    f"(the network deform3d draws: {SHAPE})"
                ) from None
            if i == 0:
                k = m.out_features
            if i == 1:
                act = type(m)
            if isinstance(m, nn.Linear):
                linears.append(m)
        if len(layers) < 5:
            last = f"after layer {layers[-1][0]} ({_describe(layers[-1][1])})" if layers else "with no layers"
            raise UsageError(
                f"the model ends {last}: expected {cls._expected(len(layers), k, act)} next "
                f"(the network deform3d draws: {SHAPE})"
            ) from None
        return linears, act, k

    @staticmethod
    def _expected(i: int, k: int | None, act: type | None) -> str | None:
        name = act.__name__ if act else ""
        return [
            "Linear(2, k) with a bias and k = 2, 3 or 4",
            "an activation: Tanh, Sigmoid or ReLU",
            f"Linear({k}, 2) with a bias",
            f"{name} (the same activation as after the first layer)",
            "Linear(2, 1) with a bias",
            "the output: only Sigmoid may follow it",
            None,
        ][min(i, 6)]

    @staticmethod
    def _fits(i: int, m: nn.Module, k: int | None, act: type | None) -> bool:
        def linear(n_in, n_out) -> bool:
            return (
                type(m) is nn.Linear
                and m.bias is not None
                and m.in_features == n_in
                and (m.out_features in HIDDEN if n_out is None else m.out_features == n_out)
            )

        return [
            lambda: linear(2, None),
            lambda: type(m) in ACTIVATIONS,
            lambda: linear(k, 2),
            lambda: type(m) is act,
            lambda: linear(2, 1),
            lambda: type(m) is nn.Sigmoid,
        ][i]()

    def check_forward(self, X: torch.Tensor) -> None:
        """The model's forward computes its layers in order (a custom forward could do otherwise)."""
        first = self.parameters[0]
        x = X[:64].to(first.device, first.dtype)
        act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[self.activation]
        l1, l2, l3 = self.linears
        with torch.no_grad():
            try:
                out = self.model(x)
            except Exception as e:
                raise UsageError(
                    f"model(x) failed on {len(x)} points of X, shape (n, 2): {type(e).__name__}: "
                    f"{str(e).splitlines()[0][:120] if str(e) else ''}"
                ) from None
            z3 = l3(act(l2(act(l1(x)))))
        expected = torch.sigmoid(z3) if self.output == "probability" else z3
        if not isinstance(out, torch.Tensor) or out.numel() != len(x):
            what = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
            raise UsageError(
                f"model(x) returned {what} for {len(x)} points; expected one number per point, shape (n, 1) or (n,)"
            ) from None
        if not torch.allclose(out.reshape(-1), expected.reshape(-1), rtol=1e-4, atol=1e-5):
            order = ", ".join(name.split("(")[0] for name in self.layers)
            raise UsageError(
                f"the model's forward does not compute its layers in order ({order}): its output "
                f"differs from theirs on X; deform3d can draw only that network"
            ) from None


def _data(X, y) -> tuple[np.ndarray, np.ndarray]:
    """(X (n, 2) float32, y (n,) uint8) from tensors (any device) or array-likes, checked."""

    def array(a) -> np.ndarray:
        return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)

    X, y = array(X), array(y)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0 or not np.issubdtype(X.dtype, np.number):
        raise UsageError(f"X must be the training points, shape (n, 2), got shape {X.shape} ({X.dtype})") from None
    if not np.isfinite(X).all():
        raise UsageError("X has NaN or infinite values; deform3d can draw only finite points") from None
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (len(X),):
        raise UsageError(f"y must hold one label per point of X, shape ({len(X)},), got shape {y.shape}") from None
    if not np.isin(y, (0, 1)).all():
        raise UsageError(f"y must hold labels 0 and 1, found {np.unique(y)[:5].tolist()}") from None
    return X.astype(np.float32), y.astype(np.uint8)


def _json(v):
    """An optimizer setting as JSON can hold it (tuples as lists; a tensor as its number)."""
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        v = v.item()
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (list, tuple)):
        return [_json(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json(x) for k, x in v.items()}
    return repr(v)


def _settings(optimizer: torch.optim.Optimizer) -> list[dict]:
    return [
        {key: _json(v) for key, v in g.items() if key != "params"} | {"parameters": len(g["params"])}
        for g in optimizer.param_groups
    ]


class Rows:
    """Every recorded step's parameters, one row each, in preallocated chunks.

    ``add()`` is the whole per-step cost: one ``torch.cat`` of the parameters' flat views into the
    next row, with no autograd (the views are detached) and no allocation. On a GPU the rows are
    written on the device (no sync) and a full chunk goes to pinned host memory with one
    non-blocking copy, ordered after those writes on the same stream; ``result()`` synchronises
    once. ``staged`` (default: parameters not on the CPU) picks that path; tests force it on the CPU.
    """

    def __init__(self, parameters: list[torch.Tensor], chunk: int = CHUNK, staged: bool | None = None):
        self.views = [t.detach().view(-1) for t in parameters]  # alias the parameters' storage
        first = self.views[0]
        self.device, self.dtype = first.device, first.dtype
        self.staged = self.device.type != "cpu" if staged is None else staged
        self.width, self.chunk = sum(v.numel() for v in self.views), chunk
        self.done: list[torch.Tensor] = []  # full chunks, on the host
        self.buf = self._new(self.device)
        self.i = 0

    def _new(self, device) -> torch.Tensor:
        pin = device.type == "cpu" and self.device.type == "cuda"
        return torch.empty(self.chunk, self.width, dtype=self.dtype, device=device, pin_memory=pin)

    def add(self) -> None:
        if self.i == self.chunk:
            self._flush()
        torch.cat(self.views, out=self.buf[self.i])
        self.i += 1

    def _flush(self) -> None:
        if self.staged:
            host = self._new(torch.device("cpu"))
            host.copy_(self.buf, non_blocking=self.device.type == "cuda")
            self.done.append(host)  # self.buf is written again only after this copy, in stream order
        else:
            self.done.append(self.buf)
            self.buf = self._new(self.device)
        self.i = 0

    def __len__(self) -> int:
        return self.chunk * len(self.done) + self.i

    def result(self) -> torch.Tensor:
        """Every row, (len, width) float32 on the CPU."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the pinned chunks' copies are complete
        rows = torch.cat(self.done + [self.buf[: self.i].cpu()])
        return rows.to(torch.float32)

    def still_aliased(self, parameters: list[torch.Tensor]) -> bool:
        """The views still read the parameters (nothing replaced a parameter's tensor meanwhile)."""
        return all(v.data_ptr() == t.data_ptr() and v.numel() == t.numel() for v, t in zip(self.views, parameters))


class WatchedRun(Trajectory):
    """A run recorded from a user's training loop; once its ``with`` block ends, a Trajectory.

    Use as ``with deform3d.watch(model, optimizer, X, y) as run:``; see ``deform3d.api.watch``.
    Until the block ends the Trajectory's fields do not exist yet (reading one says so);
    ``steps_recorded`` counts the optimizer steps so far.
    """

    _FIELDS = ("weights", "loss", "accuracy", "X", "y", "meta")

    def __init__(self, model, optimizer, X, y, *, dataset: str = "custom", steps_per_epoch: int | None = None):
        # Trajectory's fields are set by _finish, when recording ends: a half-made run is not a run.
        self._X, self._y = _data(X, y)
        self._net = Network(model, torch.from_numpy(self._X))
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise UsageError(
                f"optimizer must be a torch.optim.Optimizer, or None to record with run.capture(); "
                f"got {type(optimizer).__name__}"
            ) from None
        if optimizer is not None:
            ours = {id(t) for t in self._net.parameters}
            if any(id(t) not in ours for g in optimizer.param_groups for t in g["params"]):
                raise UsageError(
                    "the optimizer updates parameters that are not the model's: give watch the model "
                    "the optimizer trains"
                ) from None
        if steps_per_epoch is not None and (
            isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1
        ):
            raise UsageError(f"steps_per_epoch must be an integer >= 1, got {steps_per_epoch!r}") from None
        if not isinstance(dataset, str) or not dataset:
            raise UsageError(f"dataset must be a name for your data (a non-empty string), got {dataset!r}") from None
        self._net.check_forward(torch.from_numpy(self._X))
        self._optimizer, self._dataset, self._steps_per_epoch = optimizer, dataset, steps_per_epoch
        self._rows: Rows | None = None
        self._recording = self._counting = None  # hook handles, removed on exit
        self._seen = 0  # points through the model before the first step (steps_per_epoch's guess)
        self._settings_at_start = _settings(optimizer) if optimizer is not None else None
        self._finished = False

    # ------------------------------------------------------------ recording

    def __enter__(self) -> "WatchedRun":
        if self._rows is not None or self._finished:
            raise UsageError("this run has been recorded already; call deform3d.watch again for a new one") from None
        self._rows = Rows(self._net.parameters)
        self._rows.add()  # step 0: the weights before training
        if self._steps_per_epoch is None:
            self._counting = self._net.model.register_forward_pre_hook(self._count)
        if self._optimizer is not None:
            add = self._rows.add

            def after_step(optimizer, args, kwargs):
                add()

            self._recording = self._optimizer.register_step_post_hook(after_step)
        return self

    def capture(self) -> None:
        """Record the model's weights now, as one more step (for a loop without an optimizer)."""
        if self._rows is None or self._finished:
            raise UsageError("run.capture() records only inside `with deform3d.watch(...) as run:`") from None
        self._rows.add()

    def _count(self, module, args) -> None:
        # Guesses steps_per_epoch from the points that reach the model before the first step (one
        # batch, or several with gradient accumulation); then removes itself, so only the first
        # step's forward passes pay for it. (Module calls its pre-hooks from a copy: removal is safe.)
        if len(self._rows) > 1:
            self._settle_steps_per_epoch()
        elif args and isinstance(args[0], torch.Tensor) and args[0].ndim:
            self._seen += args[0].shape[0]

    def _settle_steps_per_epoch(self) -> None:
        if self._steps_per_epoch is None:
            self._steps_per_epoch = max(1, math.ceil(len(self._X) / self._seen)) if self._seen else 1
        if self._counting is not None:
            self._counting.remove()
            self._counting = None

    @property
    def steps_recorded(self) -> int:
        """Optimizer steps (or captures) recorded so far."""
        return max(len(self._rows) - 1, 0) if self._rows is not None else 0

    def __exit__(self, kind, error, tb) -> None:
        for h in (self._recording, self._counting):  # first, whatever happens next: their hooks are gone
            if h is not None:
                h.remove()
        self._recording = self._counting = None
        try:
            self._finish()
        except Exception:
            if kind is None:
                raise
            # The loop's own exception says more than a failure to build the run after it.

    def _finish(self) -> None:
        net = self._net
        if not self._rows.still_aliased(net.parameters):
            raise UsageError(
                "a parameter of the model was replaced during the watch (not updated in place), "
                "so the recorded steps would not be the model's; keep the parameters' tensors "
                "(e.g. call model.to(device) before deform3d.watch)"
            ) from None
        rows = self._rows.result()
        X, y = torch.from_numpy(self._X), torch.from_numpy(self._y.astype(np.float32))
        loss, accuracy = step_metrics(rows, X, y, net.hidden, net.activation)
        self._settle_steps_per_epoch()
        opt = self._optimizer
        meta = base_meta(
            self._dataset,
            net.hidden,
            net.activation,
            self._steps_per_epoch,
            config=None,
            seed=None,
            source="deform3d.watch",
            model={"layers": net.layers, "output": net.output},
        )
        if opt is not None:
            meta["optimizer"] = {
                "class": f"{type(opt).__module__}.{type(opt).__qualname__}",
                "defaults": _json(opt.defaults),
                "param_groups": self._settings_at_start,
                "param_groups_at_end": _settings(opt),
            }
        self._finished = True
        Trajectory.__init__(self, Weights.from_flat(rows.numpy(), net.hidden), loss, accuracy, self._X, self._y, meta)
        self._optimizer = self._net = self._rows = None  # the user's model and optimizer are not ours to keep

    # ------------------------------------------------------------ before the block ends

    def __getattr__(self, name):
        # Only reached for attributes not set: Trajectory's fields before recording has ended.
        if name in WatchedRun._FIELDS:
            raise AttributeError(
                f"the run is still being recorded; its {name} exists once the `with deform3d.watch(...)` block ends"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        if not self._finished:
            return f"<deform3d.watch: recording, {self.steps_recorded} steps so far>"
        return (
            f"<deform3d run from your training loop: k = {self.hidden} {self.activation}, {self.num_steps} steps, "
            f"accuracy {100 * self.accuracy[-1]:.1f}%>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        if not self._finished:
            return {"text/plain": repr(self)}
        return super()._repr_mimebundle_(include, exclude)

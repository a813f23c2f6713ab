"""deform3d.watch: a user's own torch loop, recorded step by step into a Trajectory.

Recording is checked bit for bit against copies of the model's parameters that the loop itself
takes after every step; the metrics against geometry (the numpy reference) and the model's own
output; every wrong model and wrong input against its one-line error. Rendering, recording and
showing a watched run are tested with the trained run's tests, over both sources (``any_run``,
tests/test_cli_render.py, test_cli_record.py, test_app.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from loops import circles, flat, sequential, train_loop
from torch import nn

import deform3d
from deform3d.core import geometry
from deform3d.core.errors import UsageError
from deform3d.core.trajectory import Trajectory
from deform3d.core.watcher import Rows


def record_with_copies(model, opt, X, y, epochs: int = 3, **watch_options):
    """Train under watch, keeping our own copy of the parameters after every step: (run, copies)."""
    copies = [flat(model)]
    with deform3d.watch(model, opt, X, y, **watch_options) as run:
        steps = train_loop(model, opt, X, y, epochs, after_step=lambda: copies.append(flat(model)))
    assert steps == len(copies) - 1
    return run, torch.stack(copies).numpy()


# ---------------------------------------------------------------- recording


@pytest.mark.parametrize("make_optimizer", [
    lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
    lambda params: torch.optim.AdamW(params, lr=0.03, weight_decay=0.01),
], ids=["sgd-momentum", "adamw"])
def test_every_row_is_the_models_parameters_after_that_step(make_optimizer):
    X, y = circles(100)
    model = sequential(3)
    opt = make_optimizer(model.parameters())
    run, copies = record_with_copies(model, opt, X, y, epochs=3)
    assert isinstance(run, Trajectory)
    assert run.num_steps == 3 * 7 and len(run.weights.flat()) == run.num_steps + 1  # the steps + step 0
    assert run.weights.flat().dtype == np.float32 and copies.dtype == np.float32
    assert np.array_equal(run.weights.flat(), copies), "a recorded row differs from the parameters after its step"
    assert not np.array_equal(copies[0], copies[-1])
    assert run.hidden == 3 and run.activation == "tanh" and run.steps_per_epoch == 7
    # Recording ended with the block: the optimizer and model carry no hook of ours any more.
    assert not opt._optimizer_step_post_hooks and not model._forward_pre_hooks
    opt.step()
    assert run.num_steps == 21


def test_metrics_are_the_geometry_reference_and_agree_with_the_models_own_output():
    X, y = circles(100)
    model = sequential(3, sigmoid=True)  # a model that outputs a probability
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    with deform3d.watch(model, opt, X, y) as run:
        train_loop(model, opt, X, y, epochs=10, probability=True)
    assert run.meta["model"]["output"] == "probability"
    loss, accuracy = geometry.metrics(run.weights, run.X, run.y, run.activation)
    np.testing.assert_allclose(run.loss, loss, rtol=0, atol=1e-5)
    np.testing.assert_allclose(run.accuracy, accuracy, rtol=0, atol=1e-5)
    with torch.no_grad():
        p = model(X).squeeze(1)
    # The last Linear's output is the logit z3: the model's own BCE and accuracy are the run's.
    assert float(torch.nn.functional.binary_cross_entropy(p, y)) == pytest.approx(float(run.loss[-1]), abs=1e-5)
    assert float(((p > 0.5) == (y > 0.5)).float().mean()) == pytest.approx(float(run.accuracy[-1]))
    assert run.loss[-1] < run.loss[0]


class Named(nn.Module):
    """A module of named layers (not a Sequential), one activation object used in both places."""

    def __init__(self, k=2):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(2, k), nn.Linear(k, 2), nn.Linear(2, 1)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.out(self.act(self.fc2(self.act(self.fc1(x)))))


@pytest.mark.parametrize("make, k, activation", [
    (lambda: sequential(2, nn.Sigmoid), 2, "sigmoid"),
    (lambda: sequential(4, nn.ReLU, sigmoid=True), 4, "relu"),
    (lambda: nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), nn.Sequential(nn.Linear(3, 2), nn.Tanh()),
                           nn.Linear(2, 1)), 3, "tanh"),
    (lambda: (lambda a: nn.Sequential(nn.Linear(2, 3), a, nn.Linear(3, 2), a, nn.Linear(2, 1)))(nn.Tanh()), 3, "tanh"),
], ids=["k2-sigmoid", "k4-relu-probability", "nested", "shared-activation"])
def test_other_networks_of_the_shape_are_recognised(make, k, activation):
    model = make()
    X, y = circles(20)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    run, copies = record_with_copies(model, opt, X, y, epochs=1,
                                     **({"steps_per_epoch": 2} if activation == "relu" else {}))
    assert (run.hidden, run.activation, run.num_steps) == (k, activation, 2)
    assert np.array_equal(run.weights.flat(), copies)


def test_a_module_of_named_layers_sharing_one_activation():
    model = Named(2)
    X, y = circles(20)
    run, copies = record_with_copies(model, torch.optim.SGD(model.parameters(), lr=0.05), X, y, epochs=1)
    assert (run.hidden, run.activation) == (2, "relu") and np.array_equal(run.weights.flat(), copies)


def test_capture_records_a_loop_without_an_optimizer():
    X, y = circles(50)
    model = sequential(3)
    copies = [flat(model)]
    with deform3d.watch(model, None, X, y, steps_per_epoch=4) as run:
        for _ in range(12):
            model.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(model(X).squeeze(1), y).backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= 0.5 * p.grad
            run.capture()
            copies.append(flat(model))
        assert run.steps_recorded == 12
    assert np.array_equal(run.weights.flat(), torch.stack(copies).numpy())
    assert run.steps_per_epoch == 4 and "optimizer" not in run.meta


def test_hooks_are_removed_after_an_exception_and_the_steps_so_far_are_kept():
    X, y = circles(100)
    model = sequential(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    copies = []

    def step_then_fail():
        copies.append(flat(model))
        if len(copies) == 5:
            raise KeyboardInterrupt  # a user's Ctrl-C mid-training

    with pytest.raises(KeyboardInterrupt):
        with deform3d.watch(model, opt, X, y) as run:
            train_loop(model, opt, X, y, epochs=2, after_step=step_then_fail)
    assert not opt._optimizer_step_post_hooks and not model._forward_pre_hooks
    assert run.num_steps == 5 and np.array_equal(run.weights.flat()[1:], torch.stack(copies).numpy())
    opt.step()  # the optimizer is the user's alone again: nothing more is recorded
    assert run.num_steps == 5


def test_steps_per_epoch_is_guessed_from_the_points_before_the_first_step():
    X, y = circles(100)  # 200 points
    for batch, expected in ((32, 7), (50, 4), (200, 1)):
        model = sequential(3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with deform3d.watch(model, opt, X, y) as run:
            train_loop(model, opt, X, y, epochs=1, batch=batch)
        assert run.steps_per_epoch == expected, batch
        assert not model._forward_pre_hooks
    model = sequential(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with deform3d.watch(model, opt, X, y, steps_per_epoch=3) as run:
        train_loop(model, opt, X, y, epochs=1)
    assert run.steps_per_epoch == 3 and run.resolve_step(epoch=2) == 6


def test_metadata_says_it_came_from_a_users_loop_with_the_optimizer_and_its_settings(tmp_path):
    X, y = circles(50)
    model = sequential(3)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, betas=(0.8, 0.99))
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    with deform3d.watch(model, opt, X, y, dataset="my points") as run:
        for _ in range(3):
            train_loop(model, opt, X, y, epochs=1)
            schedule.step()
    meta = run.meta
    assert meta["source"] == "deform3d.watch" and meta["dataset"] == "my points" and meta["config"] is None
    o = meta["optimizer"]
    assert o["class"] == "torch.optim.adamw.AdamW" and o["defaults"]["betas"] == [0.8, 0.99]
    assert o["param_groups"][0]["lr"] == pytest.approx(0.01) and o["param_groups_at_end"][0]["lr"] == pytest.approx(0.00125)
    assert o["param_groups"][0]["parameters"] == 6
    assert meta["model"] == {"output": "logit", "layers": [
        "Linear(in_features=2, out_features=3, bias=True)", "Tanh()",
        "Linear(in_features=3, out_features=2, bias=True)", "Tanh()", "Linear(in_features=2, out_features=1, bias=True)"]}
    json.dumps(meta, allow_nan=False)  # plain JSON
    back = Trajectory.load(run.save(tmp_path / "mine.npz"))
    assert {k: v for k, v in back.meta.items() if k not in ("format", "schema")} == meta
    assert np.array_equal(back.weights.flat(), run.weights.flat())


def test_a_float64_model_and_array_data():
    X, y = circles(20)
    model = sequential(3).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    copies = [flat(model)]
    with deform3d.watch(model, opt, X.numpy().astype(np.float64), y.numpy().astype(int)) as run:
        train_loop(model, opt, X.double(), y.double(), epochs=1, after_step=lambda: copies.append(flat(model)))
    assert run.weights.flat().dtype == np.float32 and run.y.dtype == np.uint8
    assert np.array_equal(run.weights.flat(), torch.stack(copies).numpy().astype(np.float32))


def test_rows_staged_through_a_device_buffer_equal_rows_written_in_place():
    # The GPU path (rows written on the device, full chunks copied to host memory) forced on the
    # CPU with a tiny chunk, so several chunk changes happen: it must keep every row, in order.
    params = [torch.zeros(3, 2), torch.zeros(3)]
    direct, staged = Rows(params, chunk=3, staged=False), Rows(params, chunk=3, staged=True)
    expected = []
    for i in range(11):
        with torch.no_grad():
            params[0].add_(i)
            params[1].sub_(0.5 * i)
        direct.add()
        staged.add()
        expected.append(torch.cat([p.reshape(-1) for p in params]))
    assert len(direct) == len(staged) == 11
    assert torch.equal(direct.result(), torch.stack(expected)) and torch.equal(staged.result(), torch.stack(expected))


# ---------------------------------------------------------------- wrong models and wrong input: one line each


class Extra(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = sequential(3)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.scale * self.net(x)


class WrongForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.act1, self.fc2, self.act2, self.out = nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)

    def forward(self, x):  # the layers, but skipping the second activation
        return self.out(self.fc2(self.act1(self.fc1(x))))


L = nn.Linear
WRONG = {
    "Linear(2, 5)": (lambda: nn.Sequential(L(2, 5), nn.Tanh(), L(5, 2), nn.Tanh(), L(2, 1)),
                     r"^layer 0 \(Linear\(in_features=2, out_features=5, bias=True\)\) does not fit: "
                     r"expected Linear\(2, k\) with a bias and k = 2, 3 or 4"),
    "missing activation": (lambda: nn.Sequential(L(2, 3), nn.Tanh(), L(3, 2), L(2, 1)),
                           r"^layer 3 \(Linear\(in_features=2, out_features=1, bias=True\)\) does not fit: "
                           r"expected Tanh \(the same activation as after the first layer\)"),
    "mixed activations": (lambda: nn.Sequential(L(2, 3), nn.Tanh(), L(3, 2), nn.ReLU(), L(2, 1)),
                          r"^layer 3 \(ReLU\(\)\) does not fit: expected Tanh \(the same activation"),
    "a conv layer": (lambda: nn.Sequential(nn.Conv1d(2, 3, 1), nn.Tanh(), L(3, 2), nn.Tanh(), L(2, 1)),
                     r"^layer 0 \(Conv1d\(2, 3, kernel_size=\(1,\), stride=\(1,\)\)\) does not fit: expected Linear\(2, k\)"),
    "extra parameters": (Extra, r"^the model has a parameter scale \(1,\) outside its Linear layers"),
    "no activation module": (lambda: nn.Sequential(L(2, 3), L(3, 2), L(2, 1)),
                             r"^layer 1 \(Linear\(in_features=3, .*expected an activation: Tanh, Sigmoid or ReLU"),
    "dropout": (lambda: nn.Sequential(L(2, 3), nn.Dropout(), L(3, 2), nn.Tanh(), L(2, 1)),
                r"^layer 1 \(Dropout\(p=0.5, inplace=False\)\) does not fit: expected an activation"),
    "widths disagree": (lambda: nn.Sequential(L(2, 3), nn.Tanh(), L(4, 2), nn.Tanh(), L(2, 1)),
                        r"^layer 2 \(Linear\(in_features=4, .*expected Linear\(3, 2\) with a bias"),
    "no bias": (lambda: nn.Sequential(L(2, 3), nn.Tanh(), L(3, 2, bias=False), nn.Tanh(), L(2, 1)),
                r"^layer 2 \(Linear\(in_features=3, out_features=2, bias=False\)\) .*expected Linear\(3, 2\) with a bias"),
    "a layer after the output": (lambda: nn.Sequential(L(2, 3), nn.Tanh(), L(3, 2), nn.Tanh(), L(2, 1), nn.Tanh()),
                                 r"^layer 5 \(Tanh\(\)\) does not fit: expected the output: only Sigmoid may follow it"),
    "too short": (lambda: nn.Sequential(L(2, 3), nn.Tanh(), L(3, 2)),
                  r"^the model ends after layer 2 \(Linear\(in_features=3, out_features=2, bias=True\)\): "
                  r"expected Tanh \(the same activation as after the first layer\) next"),
    "named layers": (lambda: nn.ModuleDict({"fc1": L(2, 3), "act": nn.Tanh(), "fc2": L(3, 3)}),
                     r"^layer fc2 \(Linear\(in_features=3, out_features=3, bias=True\)\) does not fit"),
    "forward skips a layer": (WrongForward, r"^the model's forward does not compute its layers in order \(Linear"),
    "not a module": (lambda: (lambda x: x), r"^deform3d.watch needs a torch.nn.Module, got function"),
}


@pytest.mark.parametrize("case", WRONG)
def test_a_model_of_another_shape_is_one_clear_line(case):
    make, message = WRONG[case]
    model = make()
    params = list(model.parameters()) if isinstance(model, nn.Module) else []
    opt = torch.optim.SGD(params or [nn.Parameter(torch.zeros(1))], lr=0.1)
    X, y = circles(10)
    with pytest.raises(UsageError, match=message) as e:
        deform3d.watch(model, opt, X, y)
    text = str(e.value)
    assert "\n" not in text and (e.value.__cause__, e.value.__suppress_context__) == (None, True)
    assert len(text) < 300
    if case not in ("extra parameters", "forward skips a layer", "not a module"):
        assert "(the network deform3d draws: Linear(2, k), Tanh/Sigmoid/ReLU, Linear(k, 2), the same activation, " in text
    assert not opt._optimizer_step_post_hooks and not getattr(model, "_forward_pre_hooks", None)


BAD_INPUT = {
    "optimizer of another model": (lambda m: dict(optimizer=torch.optim.SGD(sequential(3).parameters(), lr=0.1)),
                                   r"^the optimizer updates parameters that are not the model's"),
    "not an optimizer": (lambda m: dict(optimizer="adam"), r"^optimizer must be a torch.optim.Optimizer, or None"),
    "X of 3 columns": (lambda m: dict(X=torch.zeros(5, 3)), r"^X must be the training points, shape \(n, 2\), got shape \(5, 3\)"),
    "X with NaN": (lambda m: dict(X=torch.full((20, 2), float("nan"))), r"^X has NaN or infinite values"),
    "y too short": (lambda m: dict(y=torch.zeros(5)), r"^y must hold one label per point of X, shape \(20,\), got shape \(5,\)"),
    "y not 0/1": (lambda m: dict(y=torch.arange(20) % 3), r"^y must hold labels 0 and 1, found \[0, 1, 2\]"),
    "steps_per_epoch 0": (lambda m: dict(steps_per_epoch=0), r"^steps_per_epoch must be an integer >= 1, got 0"),
    "empty dataset name": (lambda m: dict(dataset=""), r"^dataset must be a name for your data"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_one_clear_line(case):
    X, y = circles(10)
    model = sequential(3)
    args = dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), X=X, y=y)
    make, message = BAD_INPUT[case]
    args.update(make(model))
    with pytest.raises(UsageError, match=message) as e:
        deform3d.watch(**args)
    assert "\n" not in str(e.value) and e.value.__suppress_context__


def test_a_run_is_read_only_once_the_block_ends_and_records_only_inside_it():
    X, y = circles(10)
    model = sequential(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = deform3d.watch(model, opt, X, y)
    with pytest.raises(UsageError, match=r"run.capture\(\) records only inside `with deform3d.watch"):
        run.capture()
    with run:
        with pytest.raises(AttributeError, match=r"the run is still being recorded; its loss exists once"):
            run.loss
        assert repr(run) == "<deform3d.watch: recording, 0 steps so far>"
        train_loop(model, opt, X, y, epochs=1)
    with pytest.raises(UsageError, match=r"recorded already; call deform3d.watch again"):
        with run:
            pass
    with pytest.raises(UsageError, match=r"capture\(\) records only inside"):
        run.capture()
    assert repr(run).startswith("<deform3d run from your training loop: k = 3 tanh, 1 steps")


def test_a_parameter_replaced_during_the_watch_is_reported_not_recorded_wrong():
    X, y = circles(10)
    model = sequential(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(UsageError, match=r"^a parameter of the model was replaced during the watch"):
        with deform3d.watch(model, opt, X, y):
            model[0].weight.data = model[0].weight.data.clone()
            train_loop(model, opt, X, y, epochs=1)
    assert not opt._optimizer_step_post_hooks

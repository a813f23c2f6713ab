"""The anatomy's numpy reference (geometry.stage_points): every stage against numbers worked by hand.

No GL: the shaders are held to this in tests/test_anatomy.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from deform3d.core.geometry import (LAST_STAGE, Projection, Weights, check_stage, forward, lift_projection, stage_name,
                                    stage_points, stage_positions)


def net(**named) -> Weights:
    return Weights(*(np.asarray(named[n], np.float64) for n in Weights.NAMES))


# k = 3 with round numbers: W1 x for x = (1, 2) is (1*1 + 0*2, 0*1 + 2*2, 1*1 + 1*2) = (1, 4, 3).
K3 = net(W1=[[1, 0], [0, 2], [1, 1]], b1=[0.5, -4, -3], W2=[[1, 0, 2], [0, -1, 0]], b2=[0.25, 1], w3=[1, 1], b3=0)
X = np.array([[1.0, 2.0], [0.0, 0.0]])
IDENTITY = Projection(np.eye(3), np.zeros(3))


def test_each_whole_stage_of_a_k_3_net_matches_the_hand_computed_value():
    t = np.tanh
    p = {s: stage_points(K3, X, s, IDENTITY)[0] for s in range(8)}
    assert np.allclose(p[0], [1, 2, 0])  # x flat in the view's (1, 2) plane
    assert np.allclose(p[1], [1, 4, 3])  # W1 x
    assert np.allclose(p[2], [1.5, 0, 0])  # + b1 = (0.5, -4, -3)
    h1 = np.array([t(1.5), 0.0, 0.0])
    assert np.allclose(p[3], h1)  # tanh
    u = np.array([h1[0] + 2 * h1[2], -h1[1]])  # W2 h1
    assert np.allclose(p[4], [u[0], u[1], 0])
    assert np.allclose(p[5], [u[0] + 0.25, u[1] + 1, 0])
    assert np.allclose(p[6], [t(u[0] + 0.25), t(u[1] + 1), 0])
    assert np.allclose(p[7], p[6])  # the cut moves nothing
    # The origin stays at the view's origin through the linear stages.
    assert np.allclose(stage_points(K3, X, 1, IDENTITY)[1], 0)
    assert np.allclose(stage_points(K3, X, 2, IDENTITY)[1], [0.5, -4, -3])


def test_fractions_are_linear_between_stages_and_the_bends_are_1_minus_a_t_plus_a_act_t():
    a = 0.3
    p = stage_points(K3, X, 2 + a, IDENTITY)[0]
    z1 = np.array([1.5, 0.0, 0.0])
    assert np.allclose(p, (1 - a) * z1 + a * np.tanh(z1))
    p = stage_points(K3, X, 0.25, IDENTITY)[0]
    assert np.allclose(p, 0.75 * np.array([1, 2, 0]) + 0.25 * np.array([1, 4, 3]))
    # The bend of the second layer: h1 = (tanh 1.5, 0, 0), W2 h1 + b2 = (tanh 1.5 + 0.25, 1).
    z2 = np.array([np.tanh(1.5) + 0.25, 1.0])
    p = stage_points(K3, X, 5.5, IDENTITY)[0]
    assert np.allclose(p, [*(0.5 * z2 + 0.5 * np.tanh(z2)), 0])
    # Continuous at every whole stage, from either side.
    for i in range(1, LAST_STAGE):
        assert np.allclose(stage_points(K3, X, i - 1e-9, IDENTITY), stage_points(K3, X, i + 1e-9, IDENTITY), atol=1e-6)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_stage_3_is_the_lift_and_stage_6_the_plane_for_every_width(k, make_weights):
    w = make_weights(k, seed=k)
    x = np.random.default_rng(k).uniform(-1, 1, (50, 2))
    f = forward(w, x)
    proj = lift_projection(f.h1)
    assert np.allclose(stage_points(w, x, 3, proj), proj(f.h1))
    assert np.allclose(stage_points(w, x, 6, proj)[:, :2], f.h2) and np.all(stage_points(w, x, 6, proj)[:, 2] == 0)
    # Stage 0: the flat square through the image of R^k's origin (k = 2, 3: x itself, z = 0).
    p0 = stage_points(w, x, 0, proj)
    assert np.allclose(p0[:, :2] - p0[0, :2], x - x[0]) and np.allclose(p0[:, 2], p0[0, 2])
    if k < 4:
        assert np.allclose(p0, np.column_stack([x, np.zeros(len(x))]))
    # W1 x seen through the projection: the move 0 -> 1 is linear in x (no shift of its own).
    P = stage_positions(w, x, proj)
    assert np.allclose(P[1] - P[1][0], (x - x[0]) @ (proj.M @ np.asarray(w.W1, np.float64)).T)


def test_k_2_stays_flat_in_every_stage(make_weights):
    w = make_weights(2)
    x = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    proj = lift_projection(forward(w, x).h1)
    for s in np.linspace(0, 7, 29):
        assert np.all(stage_points(w, x, s, proj)[:, 2] == 0)


def test_stage_names_say_the_move_in_words():
    assert stage_name(0) == ("x, the input plane", "")
    assert stage_name(0.5)[1] == "stretch and rotate by W1"
    assert stage_name(1) == ("W1 x", "stretch and rotate by W1")
    assert stage_name(1.2)[1] == "shift by b1"
    assert stage_name(2.5, "sigmoid") == ("h1 = sigmoid(W1 x + b1)", "bend by sigmoid")
    assert stage_name(3.5)[1] == "collapse to 2-D by W2"
    assert stage_name(4.5)[1] == "shift by b2"
    assert stage_name(5.5)[1] == "bend by tanh"
    assert stage_name(7)[1] == "cut by the line w3 . h2 + b3 = 0"


@pytest.mark.parametrize("bad", [-0.01, 7.5, float("nan"), float("inf"), "3", None, True])
def test_a_stage_outside_0_7_or_not_a_number_is_refused(bad):
    with pytest.raises(ValueError, match="from 0 to 7"):
        check_stage(bad)

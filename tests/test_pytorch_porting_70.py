"""Porting, round 70: BACKPROPAGATION THROUGH SIMULATED DYNAMICS -- a differentiable mass-spring simulator whose
initial positions are fitted by backpropagating through its semi-implicit Euler rollout, and an optimal-control
package that differentiates a cost through Euler- and Runge-Kutta-stepped pendulum and cart-pendulum rollouts and
descends on the action sequence (no earlier round ported either; rounds 56 and 58 ported continuous-time RNNs and
world models). Each is written as its author wrote it, with only the imports changed (`# differs:` marks each other
change and why; long lines wrapped, two-space indents made four):

1. pytorch/examples differentiable_physics/mass_spring.py (4514e957b81a7b11396c96c269ab84443300b39c):
   `MassSpringSystem` (spring forces accumulated with `forces[i] += force` into a `zeros_like` buffer, gravity by
   `forces[:, 1] -=`, semi-implicit Euler, the fixed particle re-pinned by item assignment each step),
   `visualize_positions`, `train` (Adam on the initial positions, a loss on the final ones), `evaluate` (under
   `no_grad`) and `parse_args`, as functions of argv.
2. vroulet/ilqc: envs/discretization.py (62839d83f59a148cc60535c064c1780cdc818820: `euler`, `runge_kutta4`,
   `runge_kutta4_cst_ctrl`), envs/forward.py (62839d83: `DiffEnv.step/forward/reset`, `diff_discrete_dyn`,
   `diff_cost`), envs/torch_utils.py (62839d83: `auto_multi_grad`, `define_smooth_relu`, `smooth_relu`),
   envs/pendulum.py (28a9327a7b4f4982c89d470c6d1274773682f988: `Pendulum`, `CartPendulum`, rendering left out)
   and algorithms/algos_steps.py (2c24214cc3652a4081d503b24a3ca5f2cbedb973: `gd_oracle`, `bactrack_line_search`,
   `min_step` with algo='gd'; the Gauss-Newton and DDP oracles need envs/backward.py and are not ported), with
   ilqc's docstrings cut to their first line. The Adam loop on the action sequence and the linear-feedback
   controller trained through the rollout (truncated) are the tests' own, over the ported environment.
Every source was read in the index at the commit named; none was written from memory. PyTorch's item assignment
was read in pytorch/pytorch aten/src/ATen/TensorIndexing.h (6cd18d9363cee02da9b18e37734eec9133b49082:
`slicePrefix1sSize`, `copy_to`).

What broke (one gap, fixed in microgradseq/ops/assign.py after the round):
  G1. `t[0] = value` with a one-element value of shape (1,) into a 0-d slot is a ValueError here ("index_put:
      setting an array element with a sequence"); PyTorch's `copy_to` strips the value's leading unit dimensions
      first ("to match numpy semantics ... strip away unit dimensions from the left of 'src'"), so the (1,) value
      writes the element. ilqc's Pendulum and CartPendulum with `seed != 0` do exactly this:
      `self.init_state[0] = self.init_state[0] + 1e0*torch.randn(1)`. The same holds for (1, 1) into `t[0, 1]`.
      Fixed: index_put strips the value's leading axes of size 1; test_g1_* run the seeded line.

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `.data` is the read-only numpy array: diff_discrete_dyn's `val.data` and diff_cost's `.data` are `.detach()`.
  - `torch.autograd.grad(..., create_graph=True)` is refused (NotImplementedError): ilqc's second-order oracles
    (`quad_approx=True`, and diff_cost's cost Hessians, recorded even for approx='linquad') cannot run here; a
    test checks the refusal is raised, naming autograd.grad. The first-order dynamics oracle
    (`auto_multi_grad(..., create_graph=False)`) runs and is checked against the Jacobians written by hand.
Met and as PyTorch: `forces[i] += force` into a buffer without history (the buffer then records), `forces[:, 1] -=
x`, `positions[0] = p0` cutting the fixed particle's gradient, `th, thdot = state` unpacking a 1-d tensor,
`thdot.unsqueeze(-1)` of a 0-d tensor, `torch.stack((a, b)).view(-1)`, attributes set on tensors
(`cost.grad_state = ...`), `state.requires_grad = True` on a leaf, `torch.autograd.grad` of a (1,)-shaped sum
(one element, as PyTorch's implicit grad_outputs allows), `sum(list_of_tensors)`, `bool_tensor * float_tensor`,
`ctrl.dot(ctrl)`, `torch.norm` of a direction, 1,500- and 3,000-step rollouts backpropagated without
RecursionError; truncation every k steps by `detach()` and by `mg.bptt.tbptt` giving the gradients of a numpy
adjoint of the truncated rollout.

Met and changed for reasons outside the library (marked): matplotlib draws to a file under the test's directory
(Agg); argparse reads an argv list; `torch.device("cuda" if ...)` stays (no CUDA: "cpu"); ilqc's rendering
(`set_viewer`, `render`) needs pyglet and is left out; print output is captured.

Noticed and left alone (the sources', in PyTorch too):
  - mass_spring.py's `train` builds a single spring (0, 1) whatever --num_particles says, and `evaluate` builds a
    fresh, untrained system (there is no checkpoint); `velocities[0] = ...` writes into the first step's
    `self.velocities` buffer only after it was replaced by a new tensor, so the buffer stays zero.
  - ilqc's `DiffEnv.reset` hands out `self.init_state` itself and sets its `requires_grad`: the initial state is
    shared by every rollout.

Expected values come from numpy written here in float64 (the mass-spring step, the pendulum and cart-pendulum
dynamics with Euler and RK4, their costs and Jacobians, a reverse-mode adjoint of the truncated pendulum rollout
with linear feedback), gradients by central differences of those numpy losses; never from the library's own outputs.
"""

import argparse
import math
import os
from typing import Callable, List, Optional

import numpy as np
import pytest
from porting_references import central, quietly

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.optim as optim
from microgradseq.autograd import grad as auto_grad


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)


# =========================================================================================================
# 1. pytorch/examples differentiable_physics/mass_spring.py (4514e957)
# =========================================================================================================

class MassSpringSystem(nn.Module):
    def __init__(self, num_particles, springs, mass=1.0, dt=0.01, gravity=9.81, device="cpu"):
        super().__init__()
        self.device = device
        self.mass = mass
        self.springs = springs
        self.dt = dt
        self.gravity = gravity

        # Particle 0 is fixed at the origin
        self.initial_position_0 = torch.tensor([0.0, 0.0], device=device)

        # Remaining particles are trainable
        self.initial_positions_rest = nn.Parameter(torch.randn(num_particles - 1, 2, device=device))

        # Velocities
        self.velocities = torch.zeros(num_particles, 2, device=device)

    def forward(self, steps):
        positions = torch.cat([self.initial_position_0.unsqueeze(0), self.initial_positions_rest], dim=0)
        velocities = self.velocities

        for _ in range(steps):
            forces = torch.zeros_like(positions)

            # Compute spring forces
            for (i, j, rest_length, stiffness) in self.springs:
                xi, xj = positions[i], positions[j]
                dir_vec = xj - xi
                dist = dir_vec.norm()
                force = stiffness * (dist - rest_length) * dir_vec / (dist + 1e-6)
                forces[i] += force
                forces[j] -= force

            # Apply gravity
            forces[:, 1] -= self.gravity * self.mass

            # Semi-implicit Euler integration
            acceleration = forces / self.mass
            velocities = velocities + acceleration * self.dt
            positions = positions + velocities * self.dt

            # Fix particle 0 at origin
            positions[0] = self.initial_position_0
            velocities[0] = torch.tensor([0.0, 0.0], device=positions.device)

        return positions


def visualize_positions(initial, final, target, save_path="mass_spring_viz.png"):
    import matplotlib                   # differs: the Agg backend (no display in the tests)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt     # differs: imported here, where it is used (the module imports it first)
    plt.figure(figsize=(6, 4))
    plt.scatter(initial[:, 0], initial[:, 1], c='blue', label='Initial', marker='x')
    plt.scatter(final[:, 0], final[:, 1], c='green', label='Final', marker='o')
    plt.scatter(target[:, 0], target[:, 1], c='red', label='Target', marker='*')
    plt.title("Mass-Spring System Positions")
    plt.xlabel("X")
    plt.ylabel("Y")
    plt.legend()
    plt.grid(True)
    plt.tight_layout()
    plt.savefig(save_path)
    print(f"Saved visualization to {os.path.abspath(save_path)}")
    plt.close()


def train(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    system = MassSpringSystem(
        num_particles=args.num_particles,
        springs=[(0, 1, 1.0, args.stiffness)],
        mass=args.mass,
        dt=args.dt,
        gravity=args.gravity,
        device=device,
    )

    optimizer = optim.Adam(system.parameters(), lr=args.lr)
    target_positions = torch.tensor(
        [[0.0, 0.0], [1.0, 0.0]], device=device
    )

    losses = []     # differs: the losses kept for the test (the script prints them)
    for epoch in range(args.epochs):
        optimizer.zero_grad()
        final_positions = system(args.steps)
        loss = (final_positions - target_positions).pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

        if (epoch + 1) % args.log_interval == 0:
            print(f"Epoch {epoch+1}/{args.epochs}, Loss: {loss.item():.6f}")

    # Visualization
    initial_positions = torch.cat([system.initial_position_0.unsqueeze(0),
                                   system.initial_positions_rest.detach()], dim=0).cpu().numpy()
    visualize_positions(initial_positions, final_positions.detach().cpu().numpy(), target_positions.cpu().numpy())

    print("\nTraining completed.")
    print(f"Final positions:\n{final_positions.detach().cpu().numpy()}")
    print(f"Target positions:\n{target_positions.cpu().numpy()}")
    return system, losses      # differs: returned for the test


def evaluate(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    system = MassSpringSystem(
        num_particles=args.num_particles,
        springs=[(0, 1, 1.0, args.stiffness)],
        mass=args.mass,
        dt=args.dt,
        gravity=args.gravity,
        device=device,
    )

    with torch.no_grad():
        final_positions = system(args.steps)
        print(f"Final positions after {args.steps} steps:\n{final_positions.cpu().numpy()}")
    return system, final_positions     # differs: returned for the test


def parse_args(argv=None):     # differs: argv given (the script reads sys.argv)
    parser = argparse.ArgumentParser(description="Differentiable Physics: Mass-Spring System")
    parser.add_argument("--epochs", type=int, default=1000, help="Number of training epochs")
    parser.add_argument("--steps", type=int, default=50, help="Number of simulation steps per forward pass")
    parser.add_argument("--lr", type=float, default=0.01, help="Learning rate")
    parser.add_argument("--dt", type=float, default=0.01, help="Time step for integration")
    parser.add_argument("--mass", type=float, default=1.0, help="Mass of each particle")
    parser.add_argument("--stiffness", type=float, default=10.0, help="Spring stiffness constant")
    parser.add_argument("--num_particles", type=int, default=2, help="Number of particles in the system")
    parser.add_argument("--mode", choices=["train", "eval"], default="train", help="Mode: train or eval")
    parser.add_argument("--log_interval", type=int, default=100, help="Print loss every n epochs")
    parser.add_argument("--gravity", type=float, default=9.81, help="Gravity strength")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    if args.mode == "train":
        return train(args)      # differs: returned for the test
    elif args.mode == "eval":
        return evaluate(args)


# ---- numpy reference ------------------------------------------------------------------------------------------

def np_mass_spring(rest, springs, steps, mass=1.0, dt=0.01, gravity=9.81):
    """The semi-implicit Euler rollout in float64: f = k (|d| - L) d / (|d| + 1e-6) on i, -f on j, gravity on y,
    v += f / m dt, x += v dt, particle 0 pinned at the origin with zero velocity."""
    pos = np.vstack([np.zeros((1, 2)), rest])
    vel = np.zeros_like(pos)
    for _ in range(steps):
        forces = np.zeros_like(pos)
        for (i, j, length, k) in springs:
            d = pos[j] - pos[i]
            dist = np.sqrt((d * d).sum())
            f = k * (dist - length) * d / (dist + 1e-6)
            forces[i] += f
            forces[j] -= f
        forces[:, 1] -= gravity * mass
        vel = vel + forces / mass * dt
        pos = pos + vel * dt
        pos[0] = 0.0
        vel[0] = 0.0
    return pos


CHAIN = [(0, 1, 1.0, 10.0), (1, 2, 0.5, 6.0)]


def _system(rest, springs, **kw):
    system = MassSpringSystem(len(rest) + 1, springs, **kw)
    with torch.no_grad():
        system.initial_positions_rest.copy_(torch.tensor(rest))
    return system


def test_mass_spring_rollout_is_the_semi_implicit_euler_of_numpy(float64_default):
    rest = np.array([[0.8, -0.3], [1.4, -0.9]])
    system = _system(rest, CHAIN, mass=1.3, dt=0.02)
    got = system(30)
    np.testing.assert_allclose(got.detach().numpy(), np_mass_spring(rest, CHAIN, 30, 1.3, 0.02), rtol=1e-12)
    np.testing.assert_array_equal(got.detach().numpy()[0], [0.0, 0.0])
    assert got.requires_grad


def test_mass_spring_gradient_through_accumulated_forces_matches_central_differences(float64_default):
    rest = np.array([[0.8, -0.3], [1.4, -0.9]])
    target = np.array([[0.0, 0.0], [1.0, 0.0], [1.5, -0.2]])
    system = _system(rest, CHAIN)
    loss = (system(40) - torch.tensor(target)).pow(2).mean()
    loss.backward()

    def f(r):
        return ((np_mass_spring(r, CHAIN, 40) - target) ** 2).mean()

    np.testing.assert_allclose(loss.item(), f(rest), rtol=1e-12)
    idx = [(a, b) for a in range(2) for b in range(2)]
    got = np.array([system.initial_positions_rest.grad[i] for i in idx])
    np.testing.assert_allclose(got, central(f, rest, idx), rtol=1e-6, atol=1e-9)


def test_the_pinned_particle_passes_no_gradient_and_the_force_buffer_records():
    system = _system(np.array([[0.8, -0.3]]), [(0, 1, 1.0, 10.0)])
    forces = torch.zeros(2, 2)
    assert not forces.requires_grad
    forces[1] += system.initial_positions_rest[0] * 2.0      # a buffer without history, added into: it records
    assert forces.requires_grad
    system(5)[0].sum().backward()                             # positions[0] = p0: particle 0 is a constant
    np.testing.assert_array_equal(np.asarray(system.initial_positions_rest.grad), np.zeros((1, 2)))


def test_train_fits_the_initial_position_with_adam_and_draws_the_figure(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (system, losses), printed = quietly(main, ["--epochs", "30", "--steps", "20", "--log_interval", "10",
                                               "--lr", "0.05"])
    assert losses[-1] < 0.05 * losses[0] and losses[9] < losses[0]
    assert printed.count("Epoch ") == 3 and "Training completed." in printed
    assert (tmp_path / "mass_spring_viz.png").stat().st_size > 0
    torch.manual_seed(0)
    first = torch.randn(1, 2).numpy().astype(np.float64)       # the parameter's draw, the fixture's seed
    target = np.array([[0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(losses[0], ((np_mass_spring(first, [(0, 1, 1.0, 10.0)], 20) - target) ** 2).mean(),
                               rtol=1e-5)
    trained = system.initial_positions_rest.detach().numpy().astype(np.float64)
    assert ((np_mass_spring(trained, [(0, 1, 1.0, 10.0)], 20) - target) ** 2).mean() < 0.05 * losses[0]


def test_evaluate_runs_without_history_and_prints_the_final_positions():
    (system, final), printed = quietly(main, ["--mode", "eval", "--steps", "10"])
    assert not final.requires_grad and final.grad_fn is None
    rest = system.initial_positions_rest.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(final.numpy(), np_mass_spring(rest, [(0, 1, 1.0, 10.0)], 10), rtol=1e-5, atol=1e-6)
    assert printed.startswith("Final positions after 10 steps:")


def test_a_3000_step_mass_spring_rollout_backpropagates_without_recursion_error(float64_default):
    rest = np.array([[0.7, -0.4]])
    springs = [(0, 1, 1.0, 10.0)]
    system = _system(rest, springs, dt=0.001)
    final = system(3000)
    final[1, 0].backward()

    def f(r):
        return np_mass_spring(r, springs, 3000, dt=0.001)[1, 0]

    idx = [(0, 0), (0, 1)]
    np.testing.assert_allclose([system.initial_positions_rest.grad[i] for i in idx], central(f, rest, idx, 1e-5),
                               rtol=1e-5, atol=1e-8)


# =========================================================================================================
# 2. vroulet/ilqc: envs/discretization.py, envs/forward.py, envs/torch_utils.py (62839d83), envs/pendulum.py
#    (28a9327a), algorithms/algos_steps.py (2c24214c)
# =========================================================================================================

# ---- envs/discretization.py --------------------------------------------------------------------------------

Dyn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def euler(dyn: Dyn, state: torch.Tensor, ctrl: torch.Tensor, dt: float) -> torch.Tensor:
    """Standard Euler step."""
    return state + dt*dyn(state, ctrl)


def runge_kutta4(dyn: Dyn, state: torch.Tensor, ctrl: torch.Tensor, dt: float) -> torch.Tensor:
    """Runge Kutta discretization with varying control inputs."""
    base_dim_ctrl = int(ctrl.shape[0]/3)
    k1 = dyn(state, ctrl[:base_dim_ctrl])
    k2 = dyn(state + dt*k1/2, ctrl[base_dim_ctrl:2*base_dim_ctrl])
    k3 = dyn(state + dt*k2/2, ctrl[base_dim_ctrl:2*base_dim_ctrl])
    k4 = dyn(state + dt*k3, ctrl[2*base_dim_ctrl:])
    return state + dt*(k1 + 2*k2 + 2*k3 + k4)/6


def runge_kutta4_cst_ctrl(dyn: Dyn, state: torch.Tensor, ctrl: torch.Tensor, dt: float) -> torch.Tensor:
    """Runge Kutta discretization with constant control input."""
    k1 = dyn(state, ctrl)
    k2 = dyn(state + dt*k1/2, ctrl)
    k3 = dyn(state + dt*k2/2, ctrl)
    k4 = dyn(state + dt*k3, ctrl)
    return state + dt*(k1 + 2*k2 + 2*k3 + k4)/6


# ---- envs/torch_utils.py -----------------------------------------------------------------------------------

def auto_multi_grad(output: torch.Tensor, input: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """Compute transpose of the Jacobian of a multivariate function that outputed output for a given input."""
    output_basis = torch.eye(len(output))
    jac = torch.stack([torch.autograd.grad(output, input, output_coord, retain_graph=True,
                                           create_graph=create_graph)[0]
                       for output_coord in output_basis])
    return jac.t()


def define_smooth_relu(eps: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """Define a smooth version of the ReLU function with second order derivatives."""
    x1 = -eps
    y1 = torch.tensor(0.)
    x2 = eps
    y2 = eps
    k1 = torch.tensor(0.)
    k2 = torch.tensor(1.)
    a = k1*(x2-x1) - (y2-y1)
    b = -k2*(x2-x1) + (y2-y1)

    def smooth_relu(x):
        tx = (x-x1)/(x2-x1)
        out = (x > eps)*x + (x >= -eps)*(x <= eps)*((1 - tx)*y1 + tx*y2 + tx*(1 - tx)*((1 - tx)*a + tx*b))
        return out
    return smooth_relu


smooth_relu = define_smooth_relu(1e-6)


# ---- envs/forward.py ---------------------------------------------------------------------------------------

class DiffEnv:
    """Differntiable control environment."""
    # differs: docstrings shortened to their first line; close, visualize and render (rendering) left out

    def __init__(self):
        super(DiffEnv, self).__init__()
        self.dim_ctrl, self.dim_state = None, None
        self.dt, self.horizon = None, None
        self.state, self.time_iter = None, 0
        self.init_state, self.init_time_iter = None, None
        self.viewer = None

    def discrete_dyn(self, state: torch.Tensor, ctrl: torch.Tensor, time_iter: int) -> torch.Tensor:
        raise NotImplementedError

    def costs(self, next_state: torch.Tensor, ctrl: torch.Tensor, time_iter: int) -> tuple:
        return torch.tensor(0.0), torch.tensor(0.0)

    def step(self, ctrl: torch.Tensor, approx: Optional[str] = None) -> tuple:
        if approx in ["linquad", "quad"]:
            next_state = diff_discrete_dyn(
                self.discrete_dyn,
                self.state,
                ctrl,
                self.time_iter,
                quad_approx=approx == "quad",
            )
            new_time_iter = self.time_iter + 1
            cost = diff_cost(self.costs, next_state, ctrl, new_time_iter)
        else:
            next_state = self.discrete_dyn(self.state, ctrl, self.time_iter)
            new_time_iter = self.time_iter + 1
            cost = sum(self.costs(next_state, ctrl, new_time_iter))
        self.state, self.time_iter = next_state, new_time_iter
        return next_state, cost

    def forward(self, cmd: torch.Tensor, approx: Optional[str] = None, reset: bool = True) -> tuple:
        if reset:
            self.reset(requires_grad=approx is not None)
        dim_state, dim_ctrl, horizon = (
            self.dim_state,
            self.dim_ctrl,
            cmd.shape[0],
        )
        state = self.state
        traj = [state]
        init_cost = torch.tensor(0.0)
        init_cost.hess_state, init_cost.grad_state = torch.zeros(
            dim_state, dim_state
        ), torch.zeros(dim_state)
        costs = [init_cost]
        for t in range(horizon):
            state, cost = self.step(cmd[t], approx=approx)
            traj.append(state)
            costs.append(cost)
        return traj, costs

    def reset(self, requires_grad: bool = False) -> torch.Tensor:
        self.time_iter = self.init_time_iter
        self.state = self.init_state
        self.state.requires_grad = requires_grad
        return self.state


def diff_discrete_dyn(discrete_dyn, state, ctrl, time_iter, quad_approx=False):
    """Make one step and record first/second order oracles."""
    next_state = discrete_dyn(state, ctrl, time_iter)

    grad_dyn_state = auto_multi_grad(
        next_state, state, create_graph=quad_approx
    )
    grad_dyn_ctrl = auto_multi_grad(next_state, ctrl, create_graph=quad_approx)
    for attr, val in zip(
        ["grad_dyn_state", "grad_dyn_ctrl"], [grad_dyn_state, grad_dyn_ctrl]
    ):
        # differs: `val.data`: `.data` is the read-only numpy array here (docs/pytorch.md)
        val = val.detach() if val is not None else None
        setattr(next_state, attr, val)
    if quad_approx:
        raise AssertionError("not reached: create_graph=True was refused above")   # differs: the Hessian closures
    return next_state


def diff_cost(costs, next_state, ctrl, time_iter):
    """Compute costs associated to new state and control used, record linear quadratic approximation of costs."""
    dim_state, dim_ctrl = next_state.shape[0], ctrl.shape[0]

    cost_next_state, cost_ctrl = costs(next_state, ctrl, time_iter)
    cost = cost_next_state + cost_ctrl

    if cost_next_state.grad_fn is not None:
        cost_grad_state = auto_grad(
            cost_next_state, next_state, create_graph=True
        )[0]
        # differs: `.data` is the numpy array here: `.detach()`
        cost.hess_state = auto_multi_grad(cost_grad_state, next_state).detach()
        cost.grad_state = cost_grad_state.detach()
        cost.has_cost_state = True
    else:
        cost.hess_state, cost.grad_state = torch.zeros(
            dim_state, dim_state
        ), torch.zeros(dim_state)
        cost.has_cost_state = False

    if cost_ctrl.grad_fn is not None:
        cost_grad_ctrl = auto_grad(cost_ctrl, ctrl, create_graph=True)[0]
        cost.hess_ctrl = auto_multi_grad(cost_grad_ctrl, ctrl).detach()      # differs: `.data`, as above
        cost.grad_ctrl = cost_grad_ctrl.detach()
    else:
        cost.hess_ctrl, cost.grad_ctrl = torch.zeros(
            dim_ctrl, dim_ctrl
        ), torch.zeros(dim_ctrl)

    return cost


# ---- envs/pendulum.py (rendering left out: it needs pyglet) -------------------------------------------------

class Pendulum(DiffEnv):
    def __init__(self, reg_speed=0.1, reg_ctrl=1e-6, dt=0.05, horizon=40, stay_put_time=None, seed=0):
        super(Pendulum, self).__init__()
        # env parameters
        self.horizon, self.dt = horizon, dt
        self.dim_ctrl, self.dim_state = 1, 2
        self.init_state, self.init_time_iter = torch.tensor(([math.pi, 0.])), 0
        if seed != 0:
            torch.manual_seed(seed)
            self.init_state[0] = self.init_state[0] + 1e0*torch.randn(1)

        # cost parameters
        self.reg_speed, self.reg_ctrl = reg_speed, reg_ctrl
        self.stay_put_time_start_iter = horizon-int(stay_put_time/dt) if stay_put_time is not None else horizon

        # physics parameters
        self.g, self.m, self.l, self.mu = 10, 1., 1., 0.01

        # rendering
        self.pole_transform = None

    def dyn(self, state, ctrl):
        th, thdot = state
        g, m, l, mu = self.g, self.m, self.l, self.mu
        dthdot = -g/l * torch.sin(th + math.pi) - mu/(m*l**2) * thdot + 1/(m*l**2) * ctrl
        dth = thdot.unsqueeze(-1)
        dt_state = torch.stack((dth, dthdot)).view(-1)
        return dt_state

    def discrete_dyn(self, state, ctrl, time_iter):
        return euler(self.dyn, state, ctrl, self.dt)

    def costs(self, next_state, ctrl, time_iter):
        cost_next_state = self.cost_state(next_state, time_iter)
        return cost_next_state, self.cost_ctrl(ctrl)

    def cost_ctrl(self, ctrl):
        return self.reg_ctrl * ctrl ** 2

    def cost_state(self, state, time_iter):
        if time_iter >= self.stay_put_time_start_iter:
            cost_state = (state[0]) ** 2 + self.reg_speed * state[1] ** 2
        else:
            cost_state = torch.tensor(0.)
        return cost_state

    def reset(self, requires_grad=False):
        self.time_iter = self.init_time_iter
        self.state = self.init_state
        self.state.requires_grad = requires_grad
        return self.state


class CartPendulum(DiffEnv):
    def __init__(self, reg_speed=0.1, reg_ctrl=1e-6, reg_barrier=1., dt=0.05, horizon=40, stay_put_time=None,
                 discretization='euler', x_limits=None, seed=0):
        super(CartPendulum, self).__init__()

        # env parameters
        self.horizon, self.dt, self.discretization = horizon, dt, discretization
        self.dim_ctrl, self.dim_state = 1, 4
        if discretization == 'rk4':
            self.dim_ctrl *= 3
        self.init_state, self.init_time_iter = torch.tensor(([0., 0., 0., 0.])), 0
        if seed != 0:
            torch.manual_seed(seed)
            self.init_state[0] = self.init_state[0] + 1e0*torch.randn(1)

        # cost parameters
        self.reg_speed, self.reg_ctrl, self.reg_barrier = reg_speed, reg_ctrl, reg_barrier
        self.stay_put_time_start_iter = horizon - int(stay_put_time / dt) if stay_put_time is not None else horizon

        # physics parameters
        self.g, self.M, self.m, self.b, self.I, self.l = 10, 0.5, 0.2, 0.1, 0.006, 0.3

        # rendering parameters
        self.x_limits = x_limits
        self.pole_transform = self.cart_transform = None

    def dyn(self, state, ctrl):
        x, xdot, th, thdot = state
        g, M, m, b, I, l = self.g, self.M, self.m, self.b, self.I, self.l
        a11, a22 = M+m, I+m*l**2
        a12 = m*l*torch.cos(th)
        detA = I*(M+m) + m*l**2*M + m**2*l**2*torch.sin(th)**2
        b1 = m*l*thdot**2*torch.sin(th) - b*xdot + ctrl
        b2 = -m*g*l*torch.sin(th)
        dxdot = (a22*b1 - a12*b2)/detA
        dthdot = (-a12*b1 + a11*b2)/detA
        dx = xdot.unsqueeze(-1)
        dth = thdot.unsqueeze(-1)
        dt_state = torch.stack((dx, dth, dxdot, dthdot)).view(-1)
        return dt_state

    def discrete_dyn(self, state, ctrl, time_iter):
        if self.discretization == 'euler':
            next_state = euler(self.dyn, state, ctrl, self.dt)
        elif self.discretization == 'rk4':
            next_state = runge_kutta4(self.dyn, state, ctrl, self.dt)
        elif self.discretization == 'rk4cst':
            next_state = runge_kutta4_cst_ctrl(self.dyn, state, ctrl, self.dt)
        else:
            raise NotImplementedError
        return next_state

    def costs(self, next_state, ctrl, time_iter):
        return self.cost_state(next_state, time_iter), self.cost_ctrl(ctrl)

    def cost_ctrl(self, ctrl):
        if ctrl.shape[0] > 0:
            cost_ctrl = ctrl.dot(ctrl)
        else:
            cost_ctrl = ctrl**2
        return self.reg_ctrl * cost_ctrl

    def cost_state(self, state, time_iter):
        if time_iter >= self.stay_put_time_start_iter:
            cost_state = (state[1]+math.pi) ** 2 + self.reg_speed * state[3] ** 2
        else:
            cost_state = torch.tensor(0.)
        if self.x_limits is not None:
            cost_barrier = self.reg_barrier*(smooth_relu(-(state[0] - self.x_limits[0]))
                                             + smooth_relu(-(self.x_limits[1] - state[0])))
            cost_state = cost_state + cost_barrier
        return cost_state


# ---- algorithms/algos_steps.py (the gradient-descent algorithm) --------------------------------------------

def gd_oracle(costs: List[torch.Tensor], cmd: torch.Tensor) -> Callable:
    """Create an oracle that returns the gradient of the objective and the value of the minimum of the
    associated subproblem"""
    val = sum(costs)
    grad = torch.autograd.grad(val, cmd)[0]
    fixed_obj = -0.5*torch.sum(grad*grad)

    def oracle(stepsize):
        return -stepsize*grad, stepsize*fixed_obj
    return oracle


def min_step(env, traj, costs, cmd, stepsize, line_search, algo, handle_bad_dir):
    """One step of the given algorithm (algo='gd' only: the other oracles need envs/backward.py)."""
    if algo == 'gd':
        oracle = gd_oracle(costs, cmd)
        approx = None
        step_mode = 'regvar'
    else:
        raise NotImplementedError      # differs: classic_oracle and ddp_oracle are not ported

    def obj(cmd):
        traj, costs = env.forward(cmd)
        return sum(costs)

    if line_search:
        # differs: only the 'regvar' branch, the one algo='gd' takes ('dir', 'reg' and 'dirvar' serve the others)
        if step_mode == 'regvar':
            stepsize *= 8
            decrease_fac = 0.5
        else:
            raise NotImplementedError
        diff_cmd, stepsize = bactrack_line_search(obj, cmd, oracle, stepsize, decrease_fac)
    else:
        diff_cmd, _ = oracle(stepsize)
    if diff_cmd is not None:
        next_cmd = cmd + diff_cmd
        traj, costs = env.forward(next_cmd, approx=approx)
    else:
        next_cmd = traj = costs = None
    return next_cmd, traj, costs, stepsize


def bactrack_line_search(func, var, oracle, stepsize, decrease_fac):
    """Backtracking line search given an objective and a given oracle"""
    dir = float(np.sign(stepsize))

    curr_val = func(var)
    diff_var, dec_obj = oracle(stepsize)

    if diff_var is None:
        decrease = False
        stop = np.abs(stepsize) < 1e-32
    else:
        new_val = func(var + diff_var)
        decrease = dir * (new_val - (curr_val + dec_obj)) < 0
        stop = torch.norm(diff_var) < 1e-32

    while not decrease and not stop:
        stepsize *= decrease_fac
        diff_var, dec_obj = oracle(stepsize)

        if diff_var is None:
            decrease = False
            stop = np.abs(stepsize) < 1e-32
        else:
            new_val = func(var + diff_var)
            decrease = dir * (new_val - (curr_val + dec_obj)) < 0
            stop = torch.norm(diff_var) < 1e-32

    if stop:
        print('line-search failed')
    return diff_var, stepsize


# ---- numpy references -----------------------------------------------------------------------------------------

G, MU, DT = 10.0, 0.01, 0.05


def np_pendulum_f(s, u):
    """The pendulum's time derivative: (thdot, -g/l sin(th + pi) - mu/(m l^2) thdot + u/(m l^2)), m = l = 1."""
    return np.array([s[1], -G * np.sin(s[0] + np.pi) - MU * s[1] + u])


def np_pendulum_cost(cmd, horizon, stay, dt=DT, reg_speed=0.1, reg_ctrl=1e-6, s0=(np.pi, 0.0)):
    """sum(costs) of an Euler rollout: each step's reg_ctrl u^2, and th^2 + reg_speed thdot^2 from `stay` on."""
    s, total = np.array(s0, dtype=np.float64), 0.0
    for t in range(len(cmd)):
        s = s + dt * np_pendulum_f(s, cmd[t, 0])
        total += reg_ctrl * cmd[t, 0] ** 2 + (s[0] ** 2 + reg_speed * s[1] ** 2 if t + 1 >= stay else 0.0)
    return total


CART = dict(g=10.0, M=0.5, m=0.2, b=0.1, I=0.006, l=0.3)


def np_cart_f(s, u):
    """CartPendulum.dyn in numpy: A z = b solved for z = (xddot, thddot) by the 2x2 inverse written out."""
    g, M, m, b, inertia, l = (CART[k] for k in ("g", "M", "m", "b", "I", "l"))
    x, xdot, th, thdot = s
    a11, a22, a12 = M + m, inertia + m * l ** 2, m * l * np.cos(th)
    det = inertia * (M + m) + m * l ** 2 * M + m ** 2 * l ** 2 * np.sin(th) ** 2
    b1 = m * l * thdot ** 2 * np.sin(th) - b * xdot + u
    b2 = -m * g * l * np.sin(th)
    return np.array([xdot, thdot, (a22 * b1 - a12 * b2) / det, (-a12 * b1 + a11 * b2) / det])


def np_smooth_relu(x, eps=1e-6):
    """define_smooth_relu(eps): x above eps, 0 below -eps, the cubic Hermite blend between."""
    tx = (x + eps) / (2 * eps)
    a, b = -eps, -2 * eps + eps
    return (x > eps) * x + (abs(x) <= eps) * (tx * eps + tx * (1 - tx) * ((1 - tx) * a + tx * b))


def np_cart_cost(cmd, horizon, stay, disc, x_limits=None, dt=DT, reg_speed=0.1, reg_ctrl=1e-6, reg_barrier=1.0):
    s, total = np.zeros(4), 0.0
    for t in range(len(cmd)):
        u = cmd[t]
        if disc == "euler":
            s = s + dt * np_cart_f(s, u[0])
        else:
            k1 = np_cart_f(s, u[0])
            k2 = np_cart_f(s + dt * k1 / 2, u[1])
            k3 = np_cart_f(s + dt * k2 / 2, u[1])
            k4 = np_cart_f(s + dt * k3, u[2])
            s = s + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        c = (s[1] + np.pi) ** 2 + reg_speed * s[3] ** 2 if t + 1 >= stay else 0.0
        if x_limits is not None:
            c += reg_barrier * (np_smooth_relu(-(s[0] - x_limits[0])) + np_smooth_relu(-(x_limits[1] - s[0])))
        total += c + reg_ctrl * (u @ u)
    return total


# ---- tests -------------------------------------------------------------------------------------------------------

def test_pendulum_dyn_euler_and_rk4_steps_are_numpys(float64_default):
    env = Pendulum()
    s, u = torch.tensor([0.3, -1.2]), torch.tensor([0.7])
    np.testing.assert_allclose(env.dyn(s, u).numpy(), np_pendulum_f([0.3, -1.2], 0.7), rtol=1e-14)
    np.testing.assert_allclose(env.discrete_dyn(s, u, 0).numpy(), [0.3, -1.2] + DT * np_pendulum_f([0.3, -1.2], 0.7),
                               rtol=1e-14)
    cart = CartPendulum(discretization='rk4cst')
    s4 = np.array([0.1, -0.2, 0.4, 0.5])
    k1 = np_cart_f(s4, 0.3)
    k2 = np_cart_f(s4 + DT * k1 / 2, 0.3)
    k3 = np_cart_f(s4 + DT * k2 / 2, 0.3)
    k4 = np_cart_f(s4 + DT * k3, 0.3)
    np.testing.assert_allclose(cart.discrete_dyn(torch.tensor(s4), torch.tensor([0.3]), 0).numpy(),
                               s4 + DT * (k1 + 2 * k2 + 2 * k3 + k4) / 6, rtol=1e-13)


def test_smooth_relu_is_the_hermite_blend_and_uses_bool_times_float(float64_default):
    x = np.array([-1.0, -2e-6, -5e-7, 0.0, 3e-7, 1e-6, 2e-6, 0.5])
    np.testing.assert_allclose(smooth_relu(torch.tensor(x)).numpy(), np_smooth_relu(x), rtol=1e-12, atol=1e-15)


def test_forward_gives_the_trajectory_and_costs_with_the_cost_window(float64_default):
    env = Pendulum(horizon=12, stay_put_time=0.2)
    assert env.stay_put_time_start_iter == 8
    cmd = torch.tensor(np.linspace(-1, 1, 12).reshape(12, 1))
    traj, costs = env.forward(cmd)
    assert len(traj) == 13 and len(costs) == 13 and traj[0] is env.init_state
    s = np.array([np.pi, 0.0])
    for t in range(12):
        s = s + DT * np_pendulum_f(s, cmd.numpy()[t, 0])
        np.testing.assert_allclose(traj[t + 1].numpy(), s, rtol=1e-13)
    np.testing.assert_allclose(float(sum(costs)), np_pendulum_cost(cmd.numpy(), 12, 8), rtol=1e-12)


@pytest.mark.parametrize("horizon", [10, 40])
def test_gradient_of_the_rollout_cost_with_respect_to_the_actions(horizon, float64_default):
    env = Pendulum(horizon=horizon, stay_put_time=0.25)
    rng = np.random.default_rng(horizon)
    cmd_np = rng.normal(size=(horizon, 1))
    cmd = torch.tensor(cmd_np, requires_grad=True)
    traj, costs = env.forward(cmd)
    val = sum(costs)
    assert val.shape == (1,)
    got = torch.autograd.grad(val, cmd)[0].numpy()     # gd_oracle's call: a (1,)-shaped output, one element
    stay = env.stay_put_time_start_iter

    def f(c):
        return np_pendulum_cost(c, horizon, stay)

    idx = [(t, 0) for t in range(horizon)]
    np.testing.assert_allclose(got[:, 0], central(f, cmd_np, idx), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("disc", ["euler", "rk4"])
def test_cart_pendulum_gradient_through_the_barrier_and_rk4_matches_central_differences(disc, float64_default):
    env = CartPendulum(horizon=15, stay_put_time=0.3, discretization=disc, x_limits=(-0.05, 0.05))
    rng = np.random.default_rng(1)
    cmd_np = rng.normal(scale=2.0, size=(15, env.dim_ctrl))
    cmd = torch.tensor(cmd_np, requires_grad=True)
    traj, costs = env.forward(cmd)
    val = sum(costs)
    stay = env.stay_put_time_start_iter

    def f(c):
        return np_cart_cost(c, 15, stay, disc, x_limits=(-0.05, 0.05))

    np.testing.assert_allclose(val.item(), f(cmd_np), rtol=1e-12)
    assert f(cmd_np) > 0.0 and abs(np_cart_cost(cmd_np, 15, stay, disc)) < f(cmd_np)    # the barrier is active
    val.backward()
    idx = [(t, k) for t in range(15) for k in range(env.dim_ctrl)][::2]
    np.testing.assert_allclose([cmd.grad[i] for i in idx], central(f, cmd_np, idx), rtol=1e-5, atol=1e-9)


def test_diff_discrete_dyn_records_the_transposed_jacobians(float64_default):
    env = Pendulum()
    state = torch.tensor([0.4, -0.9], requires_grad=True)
    ctrl = torch.tensor([0.2], requires_grad=True)
    nxt = diff_discrete_dyn(env.discrete_dyn, state, ctrl, 0)
    jac_state = np.array([[1.0, DT], [-DT * G * np.cos(0.4 + np.pi), 1.0 - DT * MU]])   # d next / d state
    np.testing.assert_allclose(nxt.grad_dyn_state.numpy(), jac_state.T, rtol=1e-14)
    np.testing.assert_allclose(nxt.grad_dyn_ctrl.numpy(), [[0.0, DT]], rtol=1e-14)
    assert nxt.grad_dyn_state.grad_fn is None and nxt.requires_grad


def test_the_linquad_forward_reaches_diff_cost_whose_create_graph_is_refused_as_documented(float64_default):
    env = Pendulum(horizon=3)
    cmd = torch.zeros(3, 1, requires_grad=True)
    with pytest.raises(NotImplementedError, match="autograd.grad: create_graph=True"):
        env.forward(cmd, approx='linquad')
    assert env.init_state.requires_grad       # reset(requires_grad=True) ran on the shared initial state
    env.reset()


def test_gd_oracle_is_minus_the_gradient_and_the_line_search_accepts_a_decrease(float64_default):
    env = Pendulum(horizon=20, stay_put_time=0.25)
    cmd = torch.tensor(np.full((20, 1), 0.5), requires_grad=True)
    traj, costs = env.forward(cmd)
    oracle = gd_oracle(costs, cmd)
    stay = env.stay_put_time_start_iter
    grad = central(lambda c: np_pendulum_cost(c, 20, stay), np.full((20, 1), 0.5), [(t, 0) for t in range(20)])
    direction, dec = oracle(0.1)
    np.testing.assert_allclose(direction.numpy()[:, 0], -0.1 * grad, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dec.item(), -0.05 * (grad ** 2).sum(), rtol=1e-6)

    def obj(c):
        return sum(env.forward(c)[1])

    diff, stepsize = bactrack_line_search(obj, cmd, oracle, 100.0, 0.5)
    new = np_pendulum_cost(cmd.detach().numpy() + diff.detach().numpy(), 20, stay)
    assert new < np_pendulum_cost(np.full((20, 1), 0.5), 20, stay) - 0.5 * stepsize * (grad ** 2).sum() * 0.999
    assert stepsize < 100.0


def test_min_step_with_gradient_descent_lowers_the_swing_up_cost(float64_default):
    env = Pendulum(horizon=30, stay_put_time=0.5)
    cmd = torch.zeros(30, 1, requires_grad=True)
    traj, costs = env.forward(cmd)
    values, stepsize = [float(sum(costs))], 1.0
    for _ in range(6):
        cmd, traj, costs, stepsize = min_step(env, traj, costs, cmd, stepsize, line_search=True, algo='gd',
                                              handle_bad_dir='flag')
        values.append(float(sum(costs)))
    assert all(b < a for a, b in zip(values, values[1:])) and values[-1] < 0.5 * values[0]
    np.testing.assert_allclose(values[-1], np_pendulum_cost(cmd.detach().numpy(), 30, env.stay_put_time_start_iter),
                               rtol=1e-12)


def test_adam_on_the_actions_lowers_the_rollout_cost():
    """Trajectory optimisation with Adam on the action sequence (the test's own loop over ilqc's env.forward)."""
    env = Pendulum(horizon=25, stay_put_time=0.4)
    cmd = torch.zeros(25, 1, requires_grad=True)
    optimizer = optim.Adam([cmd], lr=0.5)
    values = []
    for _ in range(25):
        optimizer.zero_grad()
        loss = sum(env.forward(cmd)[1]).sum()
        loss.backward()
        optimizer.step()
        values.append(loss.item())
    assert values[-1] < 0.5 * values[0]


def test_a_1500_step_rollout_backpropagates_without_recursion_error(float64_default):
    n = 1500
    env = Pendulum(horizon=n, dt=0.01, stay_put_time=0.05)
    cmd_np = 0.5 * np.sin(np.linspace(0, 20, n)).reshape(n, 1)
    cmd = torch.tensor(cmd_np, requires_grad=True)
    sum(env.forward(cmd)[1]).backward()
    stay = env.stay_put_time_start_iter

    def f(c):
        return np_pendulum_cost(c, n, stay, dt=0.01)

    idx = [(0, 0), (700, 0), (1490, 0)]
    np.testing.assert_allclose([cmd.grad[i] for i in idx], central(f, cmd_np, idx, 1e-5), rtol=1e-5, atol=1e-10)


# ---- truncation: a linear feedback controller u = K . s trained through the pendulum rollout --------------------

def np_truncated_feedback_grad(K, n, k1, k2, dt=DT, reg_speed=0.1, reg_ctrl=1e-6):
    """d/dK of TBPTT(k1, k2) over n steps by a hand-written reverse pass: the update at u injects the losses of
    steps (u', u] (l_t = th_t^2 + reg_speed thdot_t^2 + reg_ctrl u_{t-1}^2) and holds s at c = max(0, u - k2)
    constant. A loss at or behind the cut (k1 > k2) is, as mg.bptt.tbptt defines it, constant in the state its
    step returned (cut) and reaches its own step's cell only through what the step made beside that state (the
    control, from the cut state before it); the updates' gradients are summed (no optimizer between them)."""
    s = [np.array([np.pi - 0.3, 0.0])]
    us = []
    for t in range(n):
        u = K @ s[t]
        us.append(u)
        s.append(s[t] + dt * np_pendulum_f(s[t], u))
    updates = list(range(k1, n + 1, k1)) + ([n] if n % k1 else [])
    total, prev = np.zeros(2), 0
    for up in updates:
        cut = max(0, up - k2)
        lam = np.zeros(2)                       # dL_u / ds_{t+1}
        for t in range(up - 1, cut - 1, -1):    # step t maps s_t to s_{t+1}
            if prev < t + 1 <= up:
                lam = lam + np.array([2 * s[t + 1][0], 2 * reg_speed * s[t + 1][1]])
            dl_du = lam[1] * dt + (2 * reg_ctrl * us[t] if prev < t + 1 <= up else 0.0)
            total += dl_du * s[t]
            jac = np.array([[1.0, dt], [-dt * G * np.cos(s[t][0] + np.pi), 1.0 - dt * MU]])
            lam = jac.T @ lam + dl_du * K
        for j in range(prev + 1, min(up, cut) + 1):    # losses at or behind the cut (k1 > k2): the state the step
            total += 2 * reg_ctrl * us[j - 1] * s[j - 1]    # returned is cut, its control (made beside) is not
        prev = up
    return total


def _feedback_env():
    env = Pendulum(horizon=10 ** 6)          # time_iter >= start: every step's state is costed
    K = torch.tensor([-1.5, -0.4], requires_grad=True)

    def step(x, state):
        ctrl = (K * state).sum().unsqueeze(0)
        nxt = env.discrete_dyn(state, ctrl, 0)
        return (nxt, ctrl), nxt

    def loss_fn(output, target):
        nxt, ctrl = output
        return sum(env.costs(nxt, ctrl, env.horizon)).sum()

    return env, K, step, loss_fn


@pytest.mark.parametrize("k", [1, 5, 12])
def test_detaching_the_state_every_k_steps_gives_the_truncated_adjoint(k, float64_default):
    n = 60
    env, K, step, loss_fn = _feedback_env()
    state = torch.tensor([math.pi - 0.3, 0.0])
    for start in range(0, n, k):
        state = state.detach()
        loss = 0
        for t in range(start, min(start + k, n)):
            output, state = step(None, state)
            loss = loss + loss_fn(output, None)
        loss.backward()
    expected = np_truncated_feedback_grad(np.array([-1.5, -0.4]), n, k, k)
    np.testing.assert_allclose(np.asarray(K.grad), expected, rtol=1e-10)


@pytest.mark.parametrize("k1,k2", [(5, 5), (3, 7), (60, 60), (4, 2)])
def test_the_tbptt_runner_over_the_rollout_gives_the_truncated_adjoint(k1, k2, float64_default):
    n = 60
    env, K, step, loss_fn = _feedback_env()
    result = torch.bptt.tbptt(step, torch.tensor([math.pi - 0.3, 0.0]), [None] * n, [0.0] * n, loss_fn, k1, k2)
    assert result.updates == list(range(k1, n + 1, k1)) + ([n] if n % k1 else [])
    expected = np_truncated_feedback_grad(np.array([-1.5, -0.4]), n, k1, k2)
    np.testing.assert_allclose(np.asarray(K.grad), expected, rtol=1e-10)
    if (k1, k2) == (60, 60):        # full BPTT: the adjoint is the gradient of the whole rollout's cost
        def f(kv):
            s, total = np.array([np.pi - 0.3, 0.0]), 0.0
            for _ in range(n):
                u = kv @ s
                s = s + DT * np_pendulum_f(s, u)
                total += s[0] ** 2 + 0.1 * s[1] ** 2 + 1e-6 * u ** 2
            return total
        np.testing.assert_allclose(expected, central(f, np.array([-1.5, -0.4]), [(0,), (1,)]), rtol=1e-6)


def test_a_1200_step_truncated_rollout_through_the_runner_trains_the_gain(float64_default):
    n = 1200
    env, K, step, loss_fn = _feedback_env()
    env.dt = 0.01
    optimizer = optim.SGD([K], lr=1e-3)
    first = torch.bptt.tbptt(step, torch.tensor([math.pi - 0.3, 0.0]), [None] * n, [0.0] * n, loss_fn, 100, 100,
                             optimizer=optimizer)
    second = torch.bptt.tbptt(step, torch.tensor([math.pi - 0.3, 0.0]), [None] * n, [0.0] * n, loss_fn, 100, 100)
    assert len(first.losses) == 12 and np.all(np.isfinite(first.losses))
    assert sum(second.losses) < sum(first.losses)


# ---- G1 ----------------------------------------------------------------------------------------------------------

def test_g1_a_seeded_pendulum_writes_a_one_element_tensor_into_its_initial_angle(float64_default):
    env = Pendulum(seed=3)
    torch.manual_seed(3)
    expected = math.pi + float(torch.randn(1).item())
    np.testing.assert_allclose(env.init_state.numpy(), [expected, 0.0], rtol=1e-14)


def test_g1_a_1x1_value_into_one_element_of_a_matrix():
    x = torch.zeros(2, 2)
    x[0, 1] = torch.full((1, 1), 5.0)
    np.testing.assert_array_equal(x.numpy(), [[0.0, 5.0], [0.0, 0.0]])


def test_g1_leading_unit_dimensions_are_already_stripped_into_a_row():
    x = torch.zeros(2, 3)
    x[0] = torch.ones(1, 1, 3)          # numpy's broadcast does this one
    np.testing.assert_array_equal(x.numpy(), [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])

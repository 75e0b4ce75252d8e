"""Porting, round 49: RECURRENT POLICIES IN REINFORCEMENT LEARNING, as research and library code writes them (round
35 ported pytorch/examples' feed-forward REINFORCE; no earlier round ported a recurrent agent). Each is written as
its author wrote it, with only the imports changed (`# differs:` marks each other change and why); the
environments are one made-up memory task (CueTask: a cue seen at an episode's first step, the action two steps
later rewarded for naming it), so only the recurrent state can carry what earns the reward:

1. vwxyzjn/cleanrl, cleanrl/ppo_atari_lstm.py (004f8a086a892a2a180f4dd332b90d83a968aa7a): `layer_init`, `Agent`
   (the Atari convolutions, `nn.LSTM(512, 128)` with orthogonal weights and zero biases, `get_states` stepping the
   LSTM one step at a time with `(1.0 - d).view(1, -1, 1) * lstm_state[0]` at episode ends and
   `torch.flatten(torch.cat(new_hidden), 0, 1)`, `get_action_and_value` with `Categorical(logits=...)`), `Args`, and
   the `__main__` block: rollouts under no_grad into preallocated buffers, `initial_lstm_state` cloned, the rate
   annealed through `param_groups[0]["lr"]`, GAE under no_grad, minibatches of whole environments
   (`flatinds[:, mbenvinds].ravel()`, `initial_lstm_state[0][:, mbenvinds]`), advantages normalised, the clipped
   surrogate by `torch.max`, the clipped value loss, `clip_grad_norm_`, `Adam(eps=1e-5)`, approx_kl, clipfracs.
   Atari is CueFrames (12 x 12 uint8 frames) and `SmallAgent` swaps the convolutions for smaller ones; the Agent as
   written is checked on 84 x 84 frames.
2. ikostrikov/pytorch-a2c-ppo-acktr-gail: a2c_ppo_acktr/model.py (f60ac80147d7fcd3aa7e9210e37d5734d9b6f4cd:
   `Policy`, `NNBase._forward_gru` (one step, or the runs of steps between any environment's episode end found by
   `(masks[1:] == 0.0).any(dim=-1).nonzero().squeeze()`, each run through nn.GRU from `hxs * masks[start_idx]`),
   `CNNBase`, `MLPBase`); distributions.py (67b0115e15323a728f0b79b08418d82949e056ee: FixedCategorical, FixedNormal
   and FixedBernoulli subclassing torch.distributions, the Categorical head, DiagGaussian); utils.py
   (f60ac80147d7fcd3aa7e9210e37d5734d9b6f4cd: `init`, `AddBias`); storage.py
   (d4c68c1ce8d87a7c4ae7a7d88b54daa197785fc4: `RolloutStorage`: `copy_` into rows, compute_returns with GAE and
   bad masks, the feed-forward and recurrent generators, `torch.randperm` and a 0-d tensor as an index);
   algo/ppo.py (70b1318c729a97272ee042997ee25b2c86ed1424: `PPO.update`). main.py at these files' revision is not in
   the index (its stored main.py is the 2017 one): the training test drives them with the loop the index's copies
   of it write.
3. seungeunrho/minimalRL, r2d2.py (f35c14505d960a09dfb26396aee973adeac3c28f): `Qnet` (a batch-first LSTM),
   `LocalBuffer` (overlapping zero-padded sequences, each step's (h, c) stored), `Memory`, `Learner.train` (each
   sequence's first and second stored states `.detach()`ed, the burn-in steps sliced off the online and target
   outputs, double Q by `gather`, `td_error[idx][length - burn_in_length:][:] = 0` into a part of a part of the
   recorded TD error), `Actor.run` (epsilon-greedy under no_grad) and `main`'s models.
4. seungeunrho/minimalRL, ppo-lstm.py (53023b7f3d7683fc2d1ef5b3dbfbf672d9b3c7ff): `PPO` (`pi`, `v`, `make_batch`,
   `train_net`: the chunk's first and second states detached, GAE through numpy, `pi.squeeze(1).gather(1, a)`, the
   ratio by `torch.log`, smooth L1, `backward(retain_graph=True)`) and `main` (the rollout in grad mode,
   `Categorical(prob)`).

Every source was read in the index at the commit named; none was written from memory.

What broke:
  - `nn.Module.share_memory()` was missing (AttributeError): r2d2.py's main() calls `model.share_memory()` before
    starting its processes. PyTorch's calls `share_memory_()` on every parameter and buffer and returns the module;
    here it now does the same (each tensor's `share_memory_()` is itself already, docs/api.md), so nothing changes.
  - `torch.multiprocessing` is not here: r2d2.py's `mp.Process`, `mp.Manager` and `mp.Lock` around Hogwild-shared
    models do not port (a strict xfail); the tests run the actor, then the learner, in one process.

  - `torch.Tensor(next_done)` of numpy's bool array was bool here (float32 in PyTorch), and get_states'
    `1.0 - d` of a bool tensor was refused: `mg.Tensor` of a numpy array of ints or bools now gives the default
    float dtype, as PyTorch's legacy constructor does (a float array keeps its dtype, docs/pytorch.md).

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - utils.init's `weight_init(module.weight.data, gain=gain)`: `.data` is the read-only array, which nn.init refuses
    naming the parameter to pass.
  - r2d2's `_, next_pred_online_action = next_pred_online.max(2)`: `t.max(2)` is the maxima here, so the port writes
    `.max(dim=2)` (a test pins the warning and what the unpacking does).

Met and changed for reasons outside the library (marked): gym, the Atari wrappers, tyro, wandb and tensorboard are
stand-ins; CleanRL's minibatch lines up to the loss are in a function the tests call; distributions.py's
`Categorical` and minimalRL's `PPO` are renamed (other classes of this file have those names); the endless loops
(`while True`, 30000 and 10000 episodes) are bounded; never-read assignments are dropped (pyflakes); long lines
are wrapped.

Noticed and left alone (the sources', in PyTorch too):
  - r2d2.py: `Memory.put` loops over `range(len(batch))` of a six-field Transition, so it keeps 6 of every 32
    sequences; `Actor.run` calls `self.q(state)` without the hidden state, so each stored state is one step from
    zeros; `learning_rate` is never used (Adam's default 1e-3); the burn-in is cut from the outputs, so gradients
    still flow through the burn-in steps (R2D2's paper runs them without); a sequence shorter than the burn-in
    has `length - burn_in_length` < 0, which zeroes its last steps counted from the end.
  - ppo-lstm.py: the rollout's `pi` runs with grad on, so each stored state carries the episode's graph until
    train_net detaches it; `retain_graph=True` is not needed (each epoch builds its own graph).
  - a2c_ppo_acktr: FixedBernoulli's `super.log_prob` (no parentheses) would raise AttributeError (not reached here).

Expected values come from numpy written here in float64 (the LSTM and GRU cells, the convolutions, Categorical's
log-probabilities and entropy, GAE, the PPO losses, the double-Q TD error, smooth L1) and central differences of
those, never from the library's own outputs.
"""

import os
import random
import threading
import time
from collections import deque, namedtuple
from dataclasses import dataclass

import numpy as np
import pytest
from porting_references import (arr, central, np_gru_cell, np_log_softmax, np_lstm_cell, np_sigmoid, params_of,
                                quietly, some_indices)

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.distributions.categorical import Categorical
from microgradseq.utils.data.sampler import BatchSampler, SubsetRandomSampler


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


# ---- numpy references (float64), written here ------------------------------------------------------------


def np_conv2d(x, w, b, stride):
    """Conv2d without padding: out[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x[n, c, s i + u, s j + v]."""
    k = w.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwuv,ocuv->nohw", windows, w) + b[None, :, None, None]


def np_categorical(logits, actions):
    """log pi(a) = log_softmax(z)[a] and the entropy -sum p log p of Categorical(logits=z)."""
    logp = np_log_softmax(logits)
    return logp[np.arange(len(actions)), actions], -(np.exp(logp) * logp).sum(-1)


def np_clip_grad_norm_adam_step(params, grads, max_norm, lr, eps):
    """clip_grad_norm_ (g * max_norm / (||g|| + 1e-6) when the global norm is above max_norm), then Adam's first
    step from zero moments: m^ = g, v^ = g^2, so p - lr g / (|g| + eps)."""
    norm = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return {n: params[n] - lr * (grads[n] * scale) / (np.abs(grads[n] * scale) + eps) for n in params}, norm


class Recorder:  # differs: torch.utils.tensorboard's SummaryWriter (not installed): a stand-in keeping the scalars
    def __init__(self, *args, **kwargs):
        self.scalars = {}
        self.texts = []

    def add_scalar(self, tag, value, step):
        self.scalars.setdefault(tag, []).append((step, float(value)))

    def add_text(self, tag, text):
        self.texts.append((tag, text))

    def close(self):
        pass


SummaryWriter = Recorder


# ---- the made-up environment, shared by the ports -------------------------------------------------------

class CueTask:
    """The made-up memory task, in numpy: each episode is `length` steps; only its first observation shows a cue
    (0 or 1); the action taken at its last step earns +1 when it names the cue and -1 otherwise; every other action
    earns 0. A policy without memory can do no better than 0 on average; one that remembers the cue gets +1."""

    def __init__(self, num_envs, length=3, seed=0):
        self.num_envs, self.length = num_envs, length
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = np.zeros(self.num_envs, dtype=np.int64)
        self.cue = self.rng.integers(0, 2, self.num_envs)
        self.returns = np.zeros(self.num_envs)

    def step(self, actions):
        actions = np.asarray(actions).reshape(self.num_envs)
        last = self.t == self.length - 1
        reward = np.where(last, np.where(actions == self.cue, 1.0, -1.0), 0.0)
        self.returns += reward
        self.t = self.t + 1
        done = self.t == self.length
        finished = [(float(r), int(self.length)) if d else None for r, d in zip(self.returns, done)]
        self.cue = np.where(done, self.rng.integers(0, 2, self.num_envs), self.cue)
        self.t = np.where(done, 0, self.t)
        self.returns = np.where(done, 0.0, self.returns)
        return reward, done, finished

    def showing(self):
        """Which cue each environment's observation shows now: the cue at an episode's first step, else -1."""
        return np.where(self.t == 0, self.cue, -1)


class Space:  # differs: gym.spaces.Discrete and Box, as far as the ports read them (`n`, `shape`)
    def __init__(self, n=None, shape=()):
        self.n, self.shape = n, shape


class Discrete(Space):
    def __init__(self, n):
        super().__init__(n=n, shape=())


# ================================================================================================================
# 1. vwxyzjn/cleanrl cleanrl/ppo_atari_lstm.py: the LSTM agent and its PPO update
# ================================================================================================================

@dataclass
class Args:
    exp_name: str = os.path.basename(__file__)[: -len(".py")]
    """the name of this experiment"""
    seed: int = 1
    """seed of the experiment"""
    torch_deterministic: bool = True
    """if toggled, `torch.backends.cudnn.deterministic=False`"""
    cuda: bool = True
    """if toggled, cuda will be enabled by default"""
    track: bool = False
    """if toggled, this experiment will be tracked with Weights and Biases"""
    wandb_project_name: str = "cleanRL"
    """the wandb's project name"""
    wandb_entity: str = None
    """the entity (team) of wandb's project"""
    capture_video: bool = False
    """whether to capture videos of the agent performances (check out `videos` folder)"""

    # Algorithm specific arguments
    env_id: str = "BreakoutNoFrameskip-v4"
    """the id of the environment"""
    total_timesteps: int = 10000000
    """total timesteps of the experiments"""
    learning_rate: float = 2.5e-4
    """the learning rate of the optimizer"""
    num_envs: int = 8
    """the number of parallel game environments"""
    num_steps: int = 128
    """the number of steps to run in each environment per policy rollout"""
    anneal_lr: bool = True
    """Toggle learning rate annealing for policy and value networks"""
    gamma: float = 0.99
    """the discount factor gamma"""
    gae_lambda: float = 0.95
    """the lambda for the general advantage estimation"""
    num_minibatches: int = 4
    """the number of mini-batches"""
    update_epochs: int = 4
    """the K epochs to update the policy"""
    norm_adv: bool = True
    """Toggles advantages normalization"""
    clip_coef: float = 0.1
    """the surrogate clipping coefficient"""
    clip_vloss: bool = True
    """Toggles whether or not to use a clipped loss for the value function, as per the paper."""
    ent_coef: float = 0.01
    """coefficient of the entropy"""
    vf_coef: float = 0.5
    """coefficient of the value function"""
    max_grad_norm: float = 0.5
    """the maximum norm for the gradient clipping"""
    target_kl: float = None
    """the target KL divergence threshold"""

    # to be filled in runtime
    batch_size: int = 0
    """the batch size (computed in runtime)"""
    minibatch_size: int = 0
    """the mini-batch size (computed in runtime)"""
    num_iterations: int = 0
    """the number of iterations (computed in runtime)"""


class CueFrames:
    """# differs: gym.vector.SyncVectorEnv of make_env's Atari wrappers (84x84 grey frames, uint8): the made-up cue
    task with the same calls (`reset(seed=...)` giving `(obs, infos)`, `step(actions)` giving `(obs, rewards,
    terminations, truncations, infos)` with `infos["final_info"]`, autoreset, `single_observation_space`,
    `single_action_space`, `close()`); each observation is a 1 x size x size uint8 frame whose left half (cue 0)
    or right half (cue 1) is lit (255) at an episode's first step and dark after it."""

    def __init__(self, num_envs, size=12, length=3):
        self.task = CueTask(num_envs, length)
        self.size = size
        self.single_observation_space = Space(shape=(1, size, size))
        self.single_action_space = Discrete(2)

    def frames(self):
        obs = np.zeros((self.task.num_envs, 1, self.size, self.size), dtype=np.uint8)
        half = self.size // 2
        for i, cue in enumerate(self.task.showing()):
            if cue >= 0:
                obs[i, 0, 2:-2, cue * half:(cue + 1) * half] = 255
        return obs

    def reset(self, seed=None):
        self.task.reset(seed)
        return self.frames(), {}

    def step(self, actions):
        reward, done, finished = self.task.step(actions)
        infos = {}
        if done.any():
            infos["final_info"] = [None if f is None else {"episode": {"r": np.float32(f[0]), "l": np.int32(f[1])}}
                                   for f in finished]
        return self.frames(), reward, done, np.zeros_like(done), infos

    def close(self):
        pass


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs):
        super().__init__()
        self.network = nn.Sequential(
            layer_init(nn.Conv2d(1, 32, 8, stride=4)),
            nn.ReLU(),
            layer_init(nn.Conv2d(32, 64, 4, stride=2)),
            nn.ReLU(),
            layer_init(nn.Conv2d(64, 64, 3, stride=1)),
            nn.ReLU(),
            nn.Flatten(),
            layer_init(nn.Linear(64 * 7 * 7, 512)),
            nn.ReLU(),
        )
        self.lstm = nn.LSTM(512, 128)
        for name, param in self.lstm.named_parameters():
            if "bias" in name:
                nn.init.constant_(param, 0)
            elif "weight" in name:
                nn.init.orthogonal_(param, 1.0)
        self.actor = layer_init(nn.Linear(128, envs.single_action_space.n), std=0.01)
        self.critic = layer_init(nn.Linear(128, 1), std=1)

    def get_states(self, x, lstm_state, done):
        hidden = self.network(x / 255.0)

        # LSTM logic
        batch_size = lstm_state[0].shape[1]
        hidden = hidden.reshape((-1, batch_size, self.lstm.input_size))
        done = done.reshape((-1, batch_size))
        new_hidden = []
        for h, d in zip(hidden, done):
            h, lstm_state = self.lstm(
                h.unsqueeze(0),
                (
                    (1.0 - d).view(1, -1, 1) * lstm_state[0],
                    (1.0 - d).view(1, -1, 1) * lstm_state[1],
                ),
            )
            new_hidden += [h]
        new_hidden = torch.flatten(torch.cat(new_hidden), 0, 1)
        return new_hidden, lstm_state

    def get_value(self, x, lstm_state, done):
        hidden, _ = self.get_states(x, lstm_state, done)
        return self.critic(hidden)

    def get_action_and_value(self, x, lstm_state, done, action=None):
        hidden, lstm_state = self.get_states(x, lstm_state, done)
        logits = self.actor(hidden)
        probs = Categorical(logits=logits)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(hidden), lstm_state


class SmallAgent(Agent):
    # differs: the Atari network's three convolutions want 84 x 84 frames; the made-up task's are 12 x 12, so
    # `self.network` is layers of the same kinds, fewer and smaller (the LSTM, the heads and every method are
    # Agent's own, as written)
    def __init__(self, envs):
        super().__init__(envs)
        self.network = nn.Sequential(
            layer_init(nn.Conv2d(1, 8, 4, stride=2)),
            nn.ReLU(),
            nn.Flatten(),
            layer_init(nn.Linear(8 * 5 * 5, 512)),
            nn.ReLU(),
        )


def minibatch_loss(agent, args, b_obs, b_logprobs, b_actions, b_dones, b_advantages, b_returns, b_values,
                   initial_lstm_state, mbenvinds, mb_inds, clipfracs):
    """# differs: the body of the script's minibatch loop up to the loss, moved into a function so the tests can
    call it; its lines are the script's, unchanged."""
    _, newlogprob, entropy, newvalue, _ = agent.get_action_and_value(
        b_obs[mb_inds],
        (initial_lstm_state[0][:, mbenvinds], initial_lstm_state[1][:, mbenvinds]),
        b_dones[mb_inds],
        b_actions.long()[mb_inds],
    )
    logratio = newlogprob - b_logprobs[mb_inds]
    ratio = logratio.exp()

    with torch.no_grad():
        # calculate approx_kl http://joschu.net/blog/kl-approx.html
        old_approx_kl = (-logratio).mean()
        approx_kl = ((ratio - 1) - logratio).mean()
        clipfracs += [((ratio - 1.0).abs() > args.clip_coef).float().mean().item()]

    mb_advantages = b_advantages[mb_inds]
    if args.norm_adv:
        mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)

    # Policy loss
    pg_loss1 = -mb_advantages * ratio
    pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
    pg_loss = torch.max(pg_loss1, pg_loss2).mean()

    # Value loss
    newvalue = newvalue.view(-1)
    if args.clip_vloss:
        v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
        v_clipped = b_values[mb_inds] + torch.clamp(
            newvalue - b_values[mb_inds],
            -args.clip_coef,
            args.clip_coef,
        )
        v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
        v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
        v_loss = 0.5 * v_loss_max.mean()
    else:
        v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()

    entropy_loss = entropy.mean()
    loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef
    return loss, pg_loss, v_loss, entropy_loss, old_approx_kl, approx_kl


def ppo_atari_lstm(args, envs, agent_class=SmallAgent):
    """The script's `if __name__ == "__main__":` block as written, a function of its arguments and environments
    (# differs: `tyro.cli(Args)` is the caller's Args; the environments are the caller's made-up ones, not
    `gym.vector.SyncVectorEnv([make_env(...)])`; `Agent` is `agent_class`, SmallAgent for 12 x 12 frames); returns
    what the tests read."""
    args.batch_size = int(args.num_envs * args.num_steps)
    args.minibatch_size = int(args.batch_size // args.num_minibatches)
    args.num_iterations = args.total_timesteps // args.batch_size
    run_name = f"{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}"
    # differs: the `if args.track:` block (wandb.init, for --track, which is off) is left out: wandb is not installed
    writer = SummaryWriter(f"runs/{run_name}")
    writer.add_text(
        "hyperparameters",
        "|param|value|\n|-|-|\n%s" % ("\n".join([f"|{key}|{value}|" for key, value in vars(args).items()])),
    )

    # TRY NOT TO MODIFY: seeding
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic

    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")

    # env setup
    assert isinstance(envs.single_action_space, Discrete), "only discrete action space is supported"  # differs:
    # gym.spaces.Discrete is the stand-in's class

    agent = agent_class(envs).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # ALGO Logic: Storage setup
    obs = torch.zeros((args.num_steps, args.num_envs) + envs.single_observation_space.shape).to(device)
    actions = torch.zeros((args.num_steps, args.num_envs) + envs.single_action_space.shape).to(device)
    logprobs = torch.zeros((args.num_steps, args.num_envs)).to(device)
    rewards = torch.zeros((args.num_steps, args.num_envs)).to(device)
    dones = torch.zeros((args.num_steps, args.num_envs)).to(device)
    values = torch.zeros((args.num_steps, args.num_envs)).to(device)

    # TRY NOT TO MODIFY: start the game
    global_step = 0
    start_time = time.time()
    next_obs, _ = envs.reset(seed=args.seed)
    next_obs = torch.Tensor(next_obs).to(device)
    next_done = torch.zeros(args.num_envs).to(device)
    next_lstm_state = (
        torch.zeros(agent.lstm.num_layers, args.num_envs, agent.lstm.hidden_size).to(device),
        torch.zeros(agent.lstm.num_layers, args.num_envs, agent.lstm.hidden_size).to(device),
    )  # hidden and cell states (see https://youtu.be/8HyCNIVRbSU)

    for iteration in range(1, args.num_iterations + 1):
        initial_lstm_state = (next_lstm_state[0].clone(), next_lstm_state[1].clone())
        # Annealing the rate if instructed to do so.
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1.0) / args.num_iterations
            lrnow = frac * args.learning_rate
            optimizer.param_groups[0]["lr"] = lrnow

        for step in range(0, args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done

            # ALGO LOGIC: action logic
            with torch.no_grad():
                action, logprob, _, value, next_lstm_state = agent.get_action_and_value(next_obs, next_lstm_state,
                                                                                        next_done)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob

            # TRY NOT TO MODIFY: execute the game and log data.
            next_obs, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, truncations)
            rewards[step] = torch.tensor(reward).to(device).view(-1)
            next_obs, next_done = torch.Tensor(next_obs).to(device), torch.Tensor(next_done).to(device)

            if "final_info" in infos:
                for info in infos["final_info"]:
                    if info and "episode" in info:
                        print(f"global_step={global_step}, episodic_return={info['episode']['r']}")
                        writer.add_scalar("charts/episodic_return", info["episode"]["r"], global_step)
                        writer.add_scalar("charts/episodic_length", info["episode"]["l"], global_step)

        # bootstrap value if not done
        with torch.no_grad():
            next_value = agent.get_value(
                next_obs,
                next_lstm_state,
                next_done,
            ).reshape(1, -1)
            advantages = torch.zeros_like(rewards).to(device)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values

        # flatten the batch
        b_obs = obs.reshape((-1,) + envs.single_observation_space.shape)
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,) + envs.single_action_space.shape)
        b_dones = dones.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)

        # Optimizing the policy and value network
        assert args.num_envs % args.num_minibatches == 0
        envsperbatch = args.num_envs // args.num_minibatches
        envinds = np.arange(args.num_envs)
        flatinds = np.arange(args.batch_size).reshape(args.num_steps, args.num_envs)
        clipfracs = []
        for epoch in range(args.update_epochs):
            np.random.shuffle(envinds)
            for start in range(0, args.num_envs, envsperbatch):
                end = start + envsperbatch
                mbenvinds = envinds[start:end]
                mb_inds = flatinds[:, mbenvinds].ravel()  # be really careful about the index

                loss, pg_loss, v_loss, entropy_loss, old_approx_kl, approx_kl = minibatch_loss(  # differs: the
                    agent, args, b_obs, b_logprobs, b_actions, b_dones, b_advantages, b_returns, b_values,  # lines
                    initial_lstm_state, mbenvinds, mb_inds, clipfracs)  # up to the loss, in a function (above)

                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

            if args.target_kl is not None and approx_kl > args.target_kl:
                break

        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y

        # TRY NOT TO MODIFY: record rewards for plotting purposes
        writer.add_scalar("charts/learning_rate", optimizer.param_groups[0]["lr"], global_step)
        writer.add_scalar("losses/value_loss", v_loss.item(), global_step)
        writer.add_scalar("losses/policy_loss", pg_loss.item(), global_step)
        writer.add_scalar("losses/entropy", entropy_loss.item(), global_step)
        writer.add_scalar("losses/old_approx_kl", old_approx_kl.item(), global_step)
        writer.add_scalar("losses/approx_kl", approx_kl.item(), global_step)
        writer.add_scalar("losses/clipfrac", np.mean(clipfracs), global_step)
        writer.add_scalar("losses/explained_variance", explained_var, global_step)
        print("SPS:", int(global_step / (time.time() - start_time)))
        writer.add_scalar("charts/SPS", int(global_step / (time.time() - start_time)), global_step)

    envs.close()
    writer.close()
    return agent, writer, locals()  # differs: returned for the tests


# ---- 1. numpy references ------------------------------------------------------------------------------------

ATARI = ([("network.0", 4), ("network.2", 2), ("network.4", 1)], "network.7")
SMALL = ([("network.0", 2)], "network.3")


def np_network(p, x, spec):
    """The agent's `network`: each convolution then ReLU, flattened, a Linear then ReLU."""
    convs, linear = spec
    for name, stride in convs:
        x = np.maximum(np_conv2d(x, p[name + ".weight"], p[name + ".bias"], stride), 0)
    x = x.reshape(len(x), -1)
    return np.maximum(x @ p[linear + ".weight"].T + p[linear + ".bias"], 0)


def np_get_states(p, x, h, c, done, spec):
    """get_states: the features of every frame, then the LSTM stepped one time step at a time, h and c multiplied by
    (1 - done) before the step that starts a new episode."""
    batch = h.shape[1]
    hidden = np_network(p, x / 255.0, spec).reshape(-1, batch, 512)
    done = done.reshape(-1, batch)
    h, c, outs = h[0], c[0], []
    for t in range(len(hidden)):
        keep = (1.0 - done[t])[:, None]
        h, c = np_lstm_cell(hidden[t], keep * h, keep * c, p["lstm.weight_ih_l0"], p["lstm.weight_hh_l0"],
                            p["lstm.bias_ih_l0"], p["lstm.bias_hh_l0"])
        outs.append(h)
    return np.concatenate(outs), (h[None], c[None])


def np_action_and_value(p, x, h, c, done, actions, spec):
    hidden, state = np_get_states(p, x, h, c, done, spec)
    logits = hidden @ p["actor.weight"].T + p["actor.bias"]
    logp, entropy = np_categorical(logits, actions)
    return logp, entropy, (hidden @ p["critic.weight"].T + p["critic.bias"])[:, 0], state


def np_minibatch_loss(p, args, data, mbenvinds, mb_inds, spec):
    """The script's minibatch loss in numpy: the ratio of the new and old probabilities, the advantages normalised
    by their mean and unbiased std, the clipped surrogate max(-A r, -A clip(r, 1 - e, 1 + e)), the clipped value
    loss 0.5 max((v - R)^2, (v_old + clip(v - v_old, -e, e) - R)^2), less the entropy bonus."""
    h0, c0 = data["initial_lstm_state"]
    logp, entropy, value, _ = np_action_and_value(p, data["b_obs"][mb_inds], h0[:, mbenvinds], c0[:, mbenvinds],
                                                  data["b_dones"][mb_inds], data["b_actions"][mb_inds].astype(int),
                                                  spec)
    ratio = np.exp(logp - data["b_logprobs"][mb_inds])
    adv = data["b_advantages"][mb_inds]
    adv = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)
    pg = np.maximum(-adv * ratio, -adv * np.clip(ratio, 1 - args.clip_coef, 1 + args.clip_coef)).mean()
    ret, old_v = data["b_returns"][mb_inds], data["b_values"][mb_inds]
    clipped = old_v + np.clip(value - old_v, -args.clip_coef, args.clip_coef)
    v = 0.5 * np.maximum((value - ret) ** 2, (clipped - ret) ** 2).mean()
    return pg - args.ent_coef * entropy.mean() + v * args.vf_coef


def np_gae(rewards, values, dones, next_value, next_done, gamma, lam):
    advantages, last = np.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        nonterminal = 1.0 - (next_done if t == len(rewards) - 1 else dones[t + 1])
        next_values = next_value if t == len(rewards) - 1 else values[t + 1]
        delta = rewards[t] + gamma * next_values * nonterminal - values[t]
        advantages[t] = last = delta + gamma * lam * nonterminal * last
    return advantages


ATARI_ENVS = CueFrames(2, size=84)
FOUR_ACTIONS = type("Envs", (), {"single_action_space": Discrete(4)})


# ---- 1. tests -----------------------------------------------------------------------------------------------

def test_cleanrl_agent_initialisation_is_orthogonal_with_the_scripts_gains():
    """layer_init's orthogonal_(weight, std) and constant_(bias, 0), the LSTM's orthogonal_(param, 1.0) weights
    and zero biases: W W^T = std^2 I for a wide weight (flattened per output), W^T W = std^2 I for a tall one."""
    agent = Agent(ATARI_ENVS)
    gains = {"network.0": 2.0, "network.2": 2.0, "network.4": 2.0, "network.7": 2.0, "actor": 1e-4, "critic": 1.0,
             "lstm": 1.0}
    for name, p in agent.named_parameters():
        w = arr(p)
        if "bias" in name:
            assert not w.any(), name
            continue
        w = w.reshape(len(w), -1)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, gains[name.split(".weight")[0]] * np.eye(len(gram)), atol=2e-5,
                                   err_msg=name)
    assert [n for n, _ in agent.lstm.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                             "bias_hh_l0"]
    assert agent.lstm.input_size == 512 and agent.lstm.hidden_size == 128 and agent.lstm.num_layers == 1


def atari_batch(steps=3, batch=2, seed=0, size=84):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (steps * batch, 1, size, size)).astype(np.float64)
    done = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])[:steps].reshape(-1)
    h0, c0 = 0.5 * rng.standard_normal((2, 1, batch, 128))
    return x, done, h0, c0, rng.integers(0, 4, steps * batch)


def test_cleanrl_agent_as_written_on_84x84_frames_is_numpys(float64):
    """get_action_and_value on three steps of two environments with an episode end in each (done = 1 at step 1 for
    the first, step 2 for the second): the features, the LSTM stepped with (1 - d) * (h, c), the log-probability
    and entropy of Categorical(logits=actor(h)), the critic's value and the state handed on."""
    agent = Agent(FOUR_ACTIONS)
    x, done, h0, c0, actions = atari_batch()
    action, logp, entropy, value, (h, c) = agent.get_action_and_value(
        torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)), torch.tensor(done), torch.tensor(actions))
    p = params_of(agent)
    np_logp, np_entropy, np_value, (np_h, np_c) = np_action_and_value(p, x, h0, c0, done, actions, ATARI)
    assert action.tolist() == actions.tolist() and value.shape == (6, 1) and h.shape == (1, 2, 128)
    np.testing.assert_allclose(arr(logp), np_logp, rtol=1e-10)
    np.testing.assert_allclose(arr(entropy), np_entropy, rtol=1e-10)
    np.testing.assert_allclose(arr(value)[:, 0], np_value, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(arr(h), np_h, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(arr(c), np_c, rtol=1e-9, atol=1e-12)
    sampled, *_ = agent.get_action_and_value(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)),
                                             torch.tensor(done))
    assert sampled.dtype == torch.int64 and sampled.shape == (6,) and set(sampled.tolist()) <= {0, 1, 2, 3}


def test_cleanrl_agent_gradients_through_the_reset_steps_are_central_differences(float64):
    """The gradient of sum(log pi(a)) + sum(v) in the convolution, the LSTM and the heads, and in the initial
    (h, c): the second environment's initial state reaches the loss through its first two steps only, the first's
    through its first step only (its episode ends after it). SmallAgent on 12 x 12 frames, so that the numpy
    forward the differences call is quick."""
    agent = SmallAgent(FOUR_ACTIONS)
    x, done, h0, c0, actions = atari_batch(size=12)
    h0_t, c0_t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    _, logp, _, value, _ = agent.get_action_and_value(torch.tensor(x), (h0_t, c0_t), torch.tensor(done),
                                                      torch.tensor(actions))
    (logp.sum() + value.sum()).backward()
    base = params_of(agent)

    def loss(p, h=h0, c=c0):
        np_logp, _, np_value, _ = np_action_and_value(p, x, h, c, done, actions, SMALL)
        return np_logp.sum() + np_value.sum()

    grads = {n: np.asarray(q.grad) for n, q in agent.named_parameters()}
    for k, name in enumerate(["network.0.weight", "network.0.bias", "network.3.weight", "lstm.weight_ih_l0",
                              "lstm.weight_hh_l0", "lstm.bias_hh_l0", "actor.weight", "critic.bias"]):
        idx = some_indices(base[name].shape, 2, k)

        def f(value, name=name):
            return loss({**base, name: value})

        np.testing.assert_allclose([grads[name][i] for i in idx], central(f, base[name], idx), rtol=1e-5,
                                   atol=1e-8, err_msg=name)
    idx = [(0, 0, 3), (0, 1, 5), (0, 1, 100)]
    np.testing.assert_allclose([h0_t.grad[i] for i in idx], central(lambda v: loss(base, h=v), h0, idx), rtol=1e-5,
                               atol=1e-8)
    np.testing.assert_allclose([c0_t.grad[i] for i in idx], central(lambda v: loss(base, c=v), c0, idx), rtol=1e-5,
                               atol=1e-8)


def test_cleanrl_torch_Tensor_of_the_done_array_is_float32_as_in_pytorch():
    """The script's `torch.Tensor(next_done)` of numpy's bool array is float32, as PyTorch's legacy constructor
    makes it (here it had kept the array's bool dtype, and get_states' `1.0 - d` raised TypeError); so are the
    uint8 frames, and `x / 255.0` of them is float32, as the script expects."""
    next_done = np.logical_or(np.array([True, False]), np.array([False, False]))
    done = torch.Tensor(next_done)
    assert done.dtype == torch.float32 and arr(done).tolist() == [1.0, 0.0]
    agent = SmallAgent(CueFrames(2))
    frames = torch.Tensor(CueFrames(2).reset(seed=0)[0])
    assert frames.dtype == torch.float32 and (frames / 255.0).dtype == torch.float32
    state = (torch.zeros(1, 2, 128), torch.zeros(1, 2, 128))
    hidden, _ = agent.get_states(frames, state, done)
    np.testing.assert_allclose(arr(1.0 - done), [0.0, 1.0])
    assert hidden.shape == (2, 128) and hidden.dtype == torch.float32


def cleanrl_args(**kw):
    a = dict(num_envs=4, num_steps=12, num_minibatches=2, update_epochs=4, learning_rate=2.5e-3,
             total_timesteps=4 * 12 * 16, seed=1)
    a.update(kw)
    return Args(**a)


def test_cleanrl_rollout_storage_gae_and_minibatch_states_are_numpys():
    """One iteration at learning rate 0 (so the parameters stay those of the rollout): the stored log-probabilities
    and values are numpy's agent run over the stored frames and dones from the zero state; the bootstrap value and
    the GAE advantages are numpy's recursion; and each minibatch of environments, re-run from
    initial_lstm_state[:, mbenvinds] over flatinds[:, mbenvinds].ravel(), gives back the rollout's probabilities:
    the logged approx_kl is 0 and no ratio is clipped."""
    args = cleanrl_args(num_steps=7, total_timesteps=4 * 7, learning_rate=0.0, update_epochs=2)
    (agent, writer, run), printed = quietly(ppo_atari_lstm, args, CueFrames(4))
    p = params_of(agent)
    T, B = 7, 4
    obs, dones = arr(run["obs"]).reshape(T * B, 1, 12, 12), arr(run["dones"])
    actions = arr(run["actions"]).astype(np.int64).reshape(-1)
    zeros = np.zeros((1, B, 128))
    logp, _, values, (h, c) = np_action_and_value(p, obs, zeros, zeros, dones.reshape(-1), actions, SMALL)
    np.testing.assert_allclose(arr(run["logprobs"]).reshape(-1), logp, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(run["values"]).reshape(-1), values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(run["next_lstm_state"][0]), h, rtol=1e-5, atol=1e-6)
    assert dones[:, 0].tolist() == [0, 0, 0, 1, 0, 0, 1] and (arr(run["dones"]) == dones[:, :1]).all()
    rewards = arr(run["rewards"])
    assert (rewards[[0, 1, 3, 4, 6]] == 0).all() and set(np.abs(rewards[[2, 5]]).ravel()) == {1.0}
    next_done = arr(run["next_done"])
    _, _, next_value, _ = np_action_and_value(p, arr(run["next_obs"]), h, c, next_done, np.zeros(B, np.int64), SMALL)
    np.testing.assert_allclose(arr(run["next_value"])[0], next_value, rtol=1e-5, atol=1e-6)
    advantages = np_gae(rewards, values.reshape(T, B), dones, next_value, next_done, args.gamma, args.gae_lambda)
    np.testing.assert_allclose(arr(run["advantages"]), advantages, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(arr(run["returns"]), advantages + values.reshape(T, B), rtol=1e-4, atol=1e-5)
    assert abs(writer.scalars["losses/approx_kl"][0][1]) < 1e-6
    assert writer.scalars["losses/clipfrac"][0][1] == 0.0
    assert writer.scalars["charts/learning_rate"][0][1] == 0.0
    assert printed.count("episodic_return=") == 2 * B and "SPS:" in printed


def minibatch_data(agent, spec, T=4, B=4, seed=3):
    """A made-up rollout of T steps of B environments, with old log-probabilities and values set off the agent's
    own by amounts that put some ratios and value changes inside the clip range and some outside it."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (T * B, 1, 12, 12)).astype(np.float64)
    dones = np.zeros((T, B))
    dones[1, 0] = dones[2, 2] = dones[3, 1] = 1.0
    h0, c0 = 0.3 * rng.standard_normal((2, 1, B, 128))
    actions = rng.integers(0, 2, T * B)
    p = params_of(agent)
    logp, _, values, _ = np_action_and_value(p, x, h0, c0, dones.reshape(-1), actions, spec)
    offsets = np.resize([-0.3, -0.04, 0.03, 0.2, 0.25, -0.02], T * B)
    data = dict(b_obs=x, b_dones=dones.reshape(-1), b_actions=actions.astype(np.float64),
                b_logprobs=logp + offsets, b_values=values + offsets[::-1],
                b_advantages=rng.standard_normal(T * B), b_returns=values + rng.standard_normal(T * B))
    data["initial_lstm_state"] = (h0, c0)
    return data


def test_cleanrl_minibatch_loss_and_its_gradients_are_numpys(float64):
    """minibatch_loss (the script's lines) on two of four environments against numpy's clipped surrogate, clipped
    value loss and entropy bonus, and its gradients against central differences of numpy's loss."""
    agent = SmallAgent(CueFrames(4))
    args = Args()
    data = minibatch_data(agent, SMALL)
    mbenvinds = np.array([2, 0])
    mb_inds = np.arange(16).reshape(4, 4)[:, mbenvinds].ravel()
    tensors = {k: torch.tensor(v) for k, v in data.items() if k != "initial_lstm_state"}
    state = tuple(torch.tensor(s) for s in data["initial_lstm_state"])
    clipfracs = []
    loss, pg_loss, v_loss, entropy_loss, old_kl, kl = minibatch_loss(
        agent, args, tensors["b_obs"], tensors["b_logprobs"], tensors["b_actions"], tensors["b_dones"],
        tensors["b_advantages"], tensors["b_returns"], tensors["b_values"], state, mbenvinds, mb_inds, clipfracs)
    loss.backward()
    base = params_of(agent)
    np.testing.assert_allclose(loss.item(), np_minibatch_loss(base, args, data, mbenvinds, mb_inds, SMALL),
                               rtol=1e-10)
    ratio = np.exp(-np.resize([-0.3, -0.04, 0.03, 0.2, 0.25, -0.02], 16)[mb_inds])
    assert clipfracs == [pytest.approx(np.mean(np.abs(ratio - 1) > 0.1))] and 0 < clipfracs[0] < 1
    np.testing.assert_allclose(kl.item(), np.mean((ratio - 1) - np.log(ratio)), rtol=1e-8)
    grads = {n: np.asarray(q.grad) for n, q in agent.named_parameters()}
    for k, name in enumerate(["network.0.weight", "network.3.bias", "lstm.weight_ih_l0", "lstm.weight_hh_l0",
                              "lstm.bias_ih_l0", "actor.weight", "actor.bias", "critic.weight"]):
        idx = some_indices(base[name].shape, 2, 10 + k)

        def f(value, name=name):
            return np_minibatch_loss({**base, name: value}, args, data, mbenvinds, mb_inds, SMALL)

        np.testing.assert_allclose([grads[name][i] for i in idx], central(f, base[name], idx), rtol=1e-5,
                                   atol=1e-9, err_msg=name)


def test_cleanrl_clip_grad_norm_and_adam_with_eps_step_as_numpy_does(float64):
    """The update after the loss: clip_grad_norm_(agent.parameters(), max_grad_norm) returns the global norm before
    clipping and scales every gradient by max_grad_norm / (norm + 1e-6); Adam(lr, eps=1e-5)'s first step is
    p - lr g / (|g| + eps). (max_grad_norm 0.1, below this loss's norm, so that the clipping acts.)"""
    agent = SmallAgent(CueFrames(4))
    args = Args(max_grad_norm=0.1)
    data = minibatch_data(agent, SMALL)
    tensors = {k: torch.tensor(v) for k, v in data.items() if k != "initial_lstm_state"}
    state = tuple(torch.tensor(s) for s in data["initial_lstm_state"])
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    mbenvinds = np.array([1, 3])
    loss = minibatch_loss(agent, args, tensors["b_obs"], tensors["b_logprobs"], tensors["b_actions"],
                          tensors["b_dones"], tensors["b_advantages"], tensors["b_returns"], tensors["b_values"],
                          state, mbenvinds, np.arange(16).reshape(4, 4)[:, mbenvinds].ravel(), [])[0]
    optimizer.zero_grad()
    loss.backward()
    before = params_of(agent)
    grads = {n: np.array(q.grad) for n, q in agent.named_parameters()}
    expected, norm = np_clip_grad_norm_adam_step(before, grads, args.max_grad_norm, args.learning_rate, 1e-5)
    assert norm > args.max_grad_norm
    returned = nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
    assert returned.shape == () and returned.item() == pytest.approx(norm, rel=1e-12)
    optimizer.step()
    for name, value in params_of(agent).items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-10, atol=1e-14, err_msg=name)


def test_cleanrl_training_on_the_cue_task_learns_to_remember_the_cue():
    """Sixteen iterations of the script (4 environments, 12 steps, 2 minibatches of environments, 4 epochs, the
    rate annealed to 0): the cue is seen two steps before the rewarded action, so only the LSTM's state can carry
    it; the episodic return (printed and logged as the script does) rises from about 0 to near 1 (over its first
    and last quarters)."""
    (agent, writer, run), printed = quietly(ppo_atari_lstm, cleanrl_args(), CueFrames(4))
    returns = np.array([v for _, v in writer.scalars["charts/episodic_return"]])
    quarter = len(returns) // 4
    assert len(returns) == 16 * 4 * 4 and printed.count("episodic_return=") == len(returns)
    assert returns[:quarter].mean() < 0.4 and returns[-quarter:].mean() > 0.7
    rates = [v for _, v in writer.scalars["charts/learning_rate"]]
    np.testing.assert_allclose(rates, 2.5e-3 * (1 - np.arange(16) / 16), rtol=1e-12)
    assert all(np.isfinite(v) for _, v in writer.scalars["losses/explained_variance"])


# ================================================================================================================
# 2. ikostrikov/pytorch-a2c-ppo-acktr-gail: the recurrent policy's _forward_gru, its storage and PPO
# ================================================================================================================

# ---- a2c_ppo_acktr/utils.py -----------------------------------------------------------------------------------

def init(module, weight_init, bias_init, gain=1):
    weight_init(module.weight, gain=gain)  # differs: `module.weight.data`: .data is the read-only numpy array here,
    bias_init(module.bias)  # which nn.init refuses, naming the parameter to pass (docs/pytorch.md); and `.bias.data`
    return module


# Necessary for my KFAC implementation.
class AddBias(nn.Module):
    def __init__(self, bias):
        super(AddBias, self).__init__()
        self._bias = nn.Parameter(bias.unsqueeze(1))

    def forward(self, x):
        if x.dim() == 2:
            bias = self._bias.t().view(1, -1)
        else:
            bias = self._bias.t().view(1, -1, 1, 1)

        return x + bias


# ---- a2c_ppo_acktr/distributions.py -----------------------------------------------------------------------------

#
# Standardize distribution interfaces
#

# Categorical
class FixedCategorical(torch.distributions.Categorical):
    def sample(self):
        return super().sample().unsqueeze(-1)

    def log_probs(self, actions):
        return (
            super()
            .log_prob(actions.squeeze(-1))
            .view(actions.size(0), -1)
            .sum(-1)
            .unsqueeze(-1)
        )

    def mode(self):
        return self.probs.argmax(dim=-1, keepdim=True)


# Normal
class FixedNormal(torch.distributions.Normal):
    def log_probs(self, actions):
        return super().log_prob(actions).sum(-1, keepdim=True)

    def entropy(self):
        return super().entropy().sum(-1)

    def mode(self):
        return self.mean


# Bernoulli
class FixedBernoulli(torch.distributions.Bernoulli):
    def log_probs(self, actions):
        return super.log_prob(actions).view(actions.size(0), -1).sum(-1).unsqueeze(-1)

    def entropy(self):
        return super().entropy().sum(-1)

    def mode(self):
        return torch.gt(self.probs, 0.5).float()


class CategoricalHead(nn.Module):  # differs: the file's `Categorical`, renamed here only because this test file
    # imports torch's Categorical under that name for CleanRL (section 1)
    def __init__(self, num_inputs, num_outputs):
        super(CategoricalHead, self).__init__()

        init_ = lambda m: init(  # noqa: E731
            m,
            nn.init.orthogonal_,
            lambda x: nn.init.constant_(x, 0),
            gain=0.01)

        self.linear = init_(nn.Linear(num_inputs, num_outputs))

    def forward(self, x):
        x = self.linear(x)
        return FixedCategorical(logits=x)


class DiagGaussian(nn.Module):
    def __init__(self, num_inputs, num_outputs):
        super(DiagGaussian, self).__init__()

        init_ = lambda m: init(m, nn.init.orthogonal_, lambda x: nn.init.  # noqa: E731
                               constant_(x, 0))

        self.fc_mean = init_(nn.Linear(num_inputs, num_outputs))
        self.logstd = AddBias(torch.zeros(num_outputs))

    def forward(self, x):
        action_mean = self.fc_mean(x)

        #  An ugly hack for my KFAC implementation.
        zeros = torch.zeros(action_mean.size())
        if x.is_cuda:
            zeros = zeros.cuda()

        action_logstd = self.logstd(zeros)
        return FixedNormal(action_mean, action_logstd.exp())


class Bernoulli(nn.Module):
    def __init__(self, num_inputs, num_outputs):
        super(Bernoulli, self).__init__()

        init_ = lambda m: init(m, nn.init.orthogonal_, lambda x: nn.init.  # noqa: E731
                               constant_(x, 0))

        self.linear = init_(nn.Linear(num_inputs, num_outputs))

    def forward(self, x):
        x = self.linear(x)
        return FixedBernoulli(logits=x)


# ---- a2c_ppo_acktr/model.py ---------------------------------------------------------------------------------------

class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class Policy(nn.Module):
    def __init__(self, obs_shape, action_space, base=None, base_kwargs=None):
        super(Policy, self).__init__()
        if base_kwargs is None:
            base_kwargs = {}
        if base is None:
            if len(obs_shape) == 3:
                base = CNNBase
            elif len(obs_shape) == 1:
                base = MLPBase
            else:
                raise NotImplementedError

        self.base = base(obs_shape[0], **base_kwargs)

        if action_space.__class__.__name__ == "Discrete":
            num_outputs = action_space.n
            self.dist = CategoricalHead(self.base.output_size, num_outputs)  # differs: the renamed Categorical
        elif action_space.__class__.__name__ == "Box":
            num_outputs = action_space.shape[0]
            self.dist = DiagGaussian(self.base.output_size, num_outputs)
        elif action_space.__class__.__name__ == "MultiBinary":
            num_outputs = action_space.shape[0]
            self.dist = Bernoulli(self.base.output_size, num_outputs)
        else:
            raise NotImplementedError

    @property
    def is_recurrent(self):
        return self.base.is_recurrent

    @property
    def recurrent_hidden_state_size(self):
        """Size of rnn_hx."""
        return self.base.recurrent_hidden_state_size

    def forward(self, inputs, rnn_hxs, masks):
        raise NotImplementedError

    def act(self, inputs, rnn_hxs, masks, deterministic=False):
        value, actor_features, rnn_hxs = self.base(inputs, rnn_hxs, masks)
        dist = self.dist(actor_features)

        if deterministic:
            action = dist.mode()
        else:
            action = dist.sample()

        action_log_probs = dist.log_probs(action)
        dist.entropy().mean()  # differs: `dist_entropy = ` dropped, never read (pyflakes)

        return value, action, action_log_probs, rnn_hxs

    def get_value(self, inputs, rnn_hxs, masks):
        value, _, _ = self.base(inputs, rnn_hxs, masks)
        return value

    def evaluate_actions(self, inputs, rnn_hxs, masks, action):
        value, actor_features, rnn_hxs = self.base(inputs, rnn_hxs, masks)
        dist = self.dist(actor_features)

        action_log_probs = dist.log_probs(action)
        dist_entropy = dist.entropy().mean()

        return value, action_log_probs, dist_entropy, rnn_hxs


class NNBase(nn.Module):
    def __init__(self, recurrent, recurrent_input_size, hidden_size):
        super(NNBase, self).__init__()

        self._hidden_size = hidden_size
        self._recurrent = recurrent

        if recurrent:
            self.gru = nn.GRU(recurrent_input_size, hidden_size)
            for name, param in self.gru.named_parameters():
                if 'bias' in name:
                    nn.init.constant_(param, 0)
                elif 'weight' in name:
                    nn.init.orthogonal_(param)

    @property
    def is_recurrent(self):
        return self._recurrent

    @property
    def recurrent_hidden_state_size(self):
        if self._recurrent:
            return self._hidden_size
        return 1

    @property
    def output_size(self):
        return self._hidden_size

    def _forward_gru(self, x, hxs, masks):
        if x.size(0) == hxs.size(0):
            x, hxs = self.gru(x.unsqueeze(0), (hxs * masks).unsqueeze(0))
            x = x.squeeze(0)
            hxs = hxs.squeeze(0)
        else:
            # x is a (T, N, -1) tensor that has been flatten to (T * N, -1)
            N = hxs.size(0)
            T = int(x.size(0) / N)

            # unflatten
            x = x.view(T, N, x.size(1))

            # Same deal with masks
            masks = masks.view(T, N)

            # Let's figure out which steps in the sequence have a zero for any agent
            # We will always assume t=0 has a zero in it as that makes the logic cleaner
            has_zeros = ((masks[1:] == 0.0) \
                            .any(dim=-1)
                            .nonzero()
                            .squeeze()
                            .cpu())

            # +1 to correct the masks[1:]
            if has_zeros.dim() == 0:
                # Deal with scalar
                has_zeros = [has_zeros.item() + 1]
            else:
                has_zeros = (has_zeros + 1).numpy().tolist()

            # add t=0 and t=T to the list
            has_zeros = [0] + has_zeros + [T]

            hxs = hxs.unsqueeze(0)
            outputs = []
            for i in range(len(has_zeros) - 1):
                # We can now process steps that don't have any zeros in masks together!
                # This is much faster
                start_idx = has_zeros[i]
                end_idx = has_zeros[i + 1]

                rnn_scores, hxs = self.gru(
                    x[start_idx:end_idx],
                    hxs * masks[start_idx].view(1, -1, 1))

                outputs.append(rnn_scores)

            # assert len(outputs) == T
            # x is a (T, N, -1) tensor
            x = torch.cat(outputs, dim=0)
            # flatten
            x = x.view(T * N, -1)
            hxs = hxs.squeeze(0)

        return x, hxs


class CNNBase(NNBase):
    def __init__(self, num_inputs, recurrent=False, hidden_size=512):
        super(CNNBase, self).__init__(recurrent, hidden_size, hidden_size)

        init_ = lambda m: init(m, nn.init.orthogonal_, lambda x: nn.init.  # noqa: E731
                               constant_(x, 0), nn.init.calculate_gain('relu'))

        self.main = nn.Sequential(
            init_(nn.Conv2d(num_inputs, 32, 8, stride=4)), nn.ReLU(),
            init_(nn.Conv2d(32, 64, 4, stride=2)), nn.ReLU(),
            init_(nn.Conv2d(64, 32, 3, stride=1)), nn.ReLU(), Flatten(),
            init_(nn.Linear(32 * 7 * 7, hidden_size)), nn.ReLU())

        init_ = lambda m: init(m, nn.init.orthogonal_, lambda x: nn.init.  # noqa: E731
                               constant_(x, 0))

        self.critic_linear = init_(nn.Linear(hidden_size, 1))

        self.train()

    def forward(self, inputs, rnn_hxs, masks):
        x = self.main(inputs / 255.0)

        if self.is_recurrent:
            x, rnn_hxs = self._forward_gru(x, rnn_hxs, masks)

        return self.critic_linear(x), x, rnn_hxs


class MLPBase(NNBase):
    def __init__(self, num_inputs, recurrent=False, hidden_size=64):
        super(MLPBase, self).__init__(recurrent, num_inputs, hidden_size)

        if recurrent:
            num_inputs = hidden_size

        init_ = lambda m: init(m, nn.init.orthogonal_, lambda x: nn.init.  # noqa: E731
                               constant_(x, 0), np.sqrt(2))

        self.actor = nn.Sequential(
            init_(nn.Linear(num_inputs, hidden_size)), nn.Tanh(),
            init_(nn.Linear(hidden_size, hidden_size)), nn.Tanh())

        self.critic = nn.Sequential(
            init_(nn.Linear(num_inputs, hidden_size)), nn.Tanh(),
            init_(nn.Linear(hidden_size, hidden_size)), nn.Tanh())

        self.critic_linear = init_(nn.Linear(hidden_size, 1))

        self.train()

    def forward(self, inputs, rnn_hxs, masks):
        x = inputs

        if self.is_recurrent:
            x, rnn_hxs = self._forward_gru(x, rnn_hxs, masks)

        hidden_critic = self.critic(x)
        hidden_actor = self.actor(x)

        return self.critic_linear(hidden_critic), hidden_actor, rnn_hxs


# ---- a2c_ppo_acktr/storage.py -------------------------------------------------------------------------------------

def _flatten_helper(T, N, _tensor):
    return _tensor.view(T * N, *_tensor.size()[2:])


class RolloutStorage(object):
    def __init__(self, num_steps, num_processes, obs_shape, action_space,
                 recurrent_hidden_state_size):
        self.obs = torch.zeros(num_steps + 1, num_processes, *obs_shape)
        self.recurrent_hidden_states = torch.zeros(
            num_steps + 1, num_processes, recurrent_hidden_state_size)
        self.rewards = torch.zeros(num_steps, num_processes, 1)
        self.value_preds = torch.zeros(num_steps + 1, num_processes, 1)
        self.returns = torch.zeros(num_steps + 1, num_processes, 1)
        self.action_log_probs = torch.zeros(num_steps, num_processes, 1)
        if action_space.__class__.__name__ == 'Discrete':
            action_shape = 1
        else:
            action_shape = action_space.shape[0]
        self.actions = torch.zeros(num_steps, num_processes, action_shape)
        if action_space.__class__.__name__ == 'Discrete':
            self.actions = self.actions.long()
        self.masks = torch.ones(num_steps + 1, num_processes, 1)

        # Masks that indicate whether it's a true terminal state
        # or time limit end state
        self.bad_masks = torch.ones(num_steps + 1, num_processes, 1)

        self.num_steps = num_steps
        self.step = 0

    def to(self, device):
        self.obs = self.obs.to(device)
        self.recurrent_hidden_states = self.recurrent_hidden_states.to(device)
        self.rewards = self.rewards.to(device)
        self.value_preds = self.value_preds.to(device)
        self.returns = self.returns.to(device)
        self.action_log_probs = self.action_log_probs.to(device)
        self.actions = self.actions.to(device)
        self.masks = self.masks.to(device)
        self.bad_masks = self.bad_masks.to(device)

    def insert(self, obs, recurrent_hidden_states, actions, action_log_probs,
               value_preds, rewards, masks, bad_masks):
        self.obs[self.step + 1].copy_(obs)
        self.recurrent_hidden_states[self.step +
                                     1].copy_(recurrent_hidden_states)
        self.actions[self.step].copy_(actions)
        self.action_log_probs[self.step].copy_(action_log_probs)
        self.value_preds[self.step].copy_(value_preds)
        self.rewards[self.step].copy_(rewards)
        self.masks[self.step + 1].copy_(masks)
        self.bad_masks[self.step + 1].copy_(bad_masks)

        self.step = (self.step + 1) % self.num_steps

    def after_update(self):
        self.obs[0].copy_(self.obs[-1])
        self.recurrent_hidden_states[0].copy_(self.recurrent_hidden_states[-1])
        self.masks[0].copy_(self.masks[-1])
        self.bad_masks[0].copy_(self.bad_masks[-1])

    def compute_returns(self,
                        next_value,
                        use_gae,
                        gamma,
                        gae_lambda,
                        use_proper_time_limits=True):
        if use_proper_time_limits:
            if use_gae:
                self.value_preds[-1] = next_value
                gae = 0
                for step in reversed(range(self.rewards.size(0))):
                    delta = self.rewards[step] + gamma * self.value_preds[
                        step + 1] * self.masks[step +
                                               1] - self.value_preds[step]
                    gae = delta + gamma * gae_lambda * self.masks[step +
                                                                  1] * gae
                    gae = gae * self.bad_masks[step + 1]
                    self.returns[step] = gae + self.value_preds[step]
            else:
                self.returns[-1] = next_value
                for step in reversed(range(self.rewards.size(0))):
                    self.returns[step] = (self.returns[step + 1] * \
                        gamma * self.masks[step + 1] + self.rewards[step]) * self.bad_masks[step + 1] \
                        + (1 - self.bad_masks[step + 1]) * self.value_preds[step]
        else:
            if use_gae:
                self.value_preds[-1] = next_value
                gae = 0
                for step in reversed(range(self.rewards.size(0))):
                    delta = self.rewards[step] + gamma * self.value_preds[
                        step + 1] * self.masks[step +
                                               1] - self.value_preds[step]
                    gae = delta + gamma * gae_lambda * self.masks[step +
                                                                  1] * gae
                    self.returns[step] = gae + self.value_preds[step]
            else:
                self.returns[-1] = next_value
                for step in reversed(range(self.rewards.size(0))):
                    self.returns[step] = self.returns[step + 1] * \
                        gamma * self.masks[step + 1] + self.rewards[step]

    def feed_forward_generator(self,
                               advantages,
                               num_mini_batch=None,
                               mini_batch_size=None):
        num_steps, num_processes = self.rewards.size()[0:2]
        batch_size = num_processes * num_steps

        if mini_batch_size is None:
            assert batch_size >= num_mini_batch, (
                "PPO requires the number of processes ({}) "
                "* number of steps ({}) = {} "
                "to be greater than or equal to the number of PPO mini batches ({})."
                "".format(num_processes, num_steps, num_processes * num_steps,
                          num_mini_batch))
            mini_batch_size = batch_size // num_mini_batch
        sampler = BatchSampler(
            SubsetRandomSampler(range(batch_size)),
            mini_batch_size,
            drop_last=True)
        for indices in sampler:
            obs_batch = self.obs[:-1].view(-1, *self.obs.size()[2:])[indices]
            recurrent_hidden_states_batch = self.recurrent_hidden_states[:-1].view(
                -1, self.recurrent_hidden_states.size(-1))[indices]
            actions_batch = self.actions.view(-1,
                                              self.actions.size(-1))[indices]
            value_preds_batch = self.value_preds[:-1].view(-1, 1)[indices]
            return_batch = self.returns[:-1].view(-1, 1)[indices]
            masks_batch = self.masks[:-1].view(-1, 1)[indices]
            old_action_log_probs_batch = self.action_log_probs.view(-1,
                                                                    1)[indices]
            if advantages is None:
                adv_targ = None
            else:
                adv_targ = advantages.view(-1, 1)[indices]

            yield obs_batch, recurrent_hidden_states_batch, actions_batch, \
                value_preds_batch, return_batch, masks_batch, old_action_log_probs_batch, adv_targ

    def recurrent_generator(self, advantages, num_mini_batch):
        num_processes = self.rewards.size(1)
        assert num_processes >= num_mini_batch, (
            "PPO requires the number of processes ({}) "
            "to be greater than or equal to the number of "
            "PPO mini batches ({}).".format(num_processes, num_mini_batch))
        num_envs_per_batch = num_processes // num_mini_batch
        perm = torch.randperm(num_processes)
        for start_ind in range(0, num_processes, num_envs_per_batch):
            obs_batch = []
            recurrent_hidden_states_batch = []
            actions_batch = []
            value_preds_batch = []
            return_batch = []
            masks_batch = []
            old_action_log_probs_batch = []
            adv_targ = []

            for offset in range(num_envs_per_batch):
                ind = perm[start_ind + offset]
                obs_batch.append(self.obs[:-1, ind])
                recurrent_hidden_states_batch.append(
                    self.recurrent_hidden_states[0:1, ind])
                actions_batch.append(self.actions[:, ind])
                value_preds_batch.append(self.value_preds[:-1, ind])
                return_batch.append(self.returns[:-1, ind])
                masks_batch.append(self.masks[:-1, ind])
                old_action_log_probs_batch.append(
                    self.action_log_probs[:, ind])
                adv_targ.append(advantages[:, ind])

            T, N = self.num_steps, num_envs_per_batch
            # These are all tensors of size (T, N, -1)
            obs_batch = torch.stack(obs_batch, 1)
            actions_batch = torch.stack(actions_batch, 1)
            value_preds_batch = torch.stack(value_preds_batch, 1)
            return_batch = torch.stack(return_batch, 1)
            masks_batch = torch.stack(masks_batch, 1)
            old_action_log_probs_batch = torch.stack(
                old_action_log_probs_batch, 1)
            adv_targ = torch.stack(adv_targ, 1)

            # States is just a (N, -1) tensor
            recurrent_hidden_states_batch = torch.stack(
                recurrent_hidden_states_batch, 1).view(N, -1)

            # Flatten the (T, N, ...) tensors to (T * N, ...)
            obs_batch = _flatten_helper(T, N, obs_batch)
            actions_batch = _flatten_helper(T, N, actions_batch)
            value_preds_batch = _flatten_helper(T, N, value_preds_batch)
            return_batch = _flatten_helper(T, N, return_batch)
            masks_batch = _flatten_helper(T, N, masks_batch)
            old_action_log_probs_batch = _flatten_helper(T, N, \
                    old_action_log_probs_batch)
            adv_targ = _flatten_helper(T, N, adv_targ)

            yield obs_batch, recurrent_hidden_states_batch, actions_batch, \
                value_preds_batch, return_batch, masks_batch, old_action_log_probs_batch, adv_targ


# ---- a2c_ppo_acktr/algo/ppo.py ------------------------------------------------------------------------------------

class PPO():
    def __init__(self,
                 actor_critic,
                 clip_param,
                 ppo_epoch,
                 num_mini_batch,
                 value_loss_coef,
                 entropy_coef,
                 lr=None,
                 eps=None,
                 max_grad_norm=None,
                 use_clipped_value_loss=True):

        self.actor_critic = actor_critic

        self.clip_param = clip_param
        self.ppo_epoch = ppo_epoch
        self.num_mini_batch = num_mini_batch

        self.value_loss_coef = value_loss_coef
        self.entropy_coef = entropy_coef

        self.max_grad_norm = max_grad_norm
        self.use_clipped_value_loss = use_clipped_value_loss

        self.optimizer = optim.Adam(actor_critic.parameters(), lr=lr, eps=eps)

    def update(self, rollouts):
        advantages = rollouts.returns[:-1] - rollouts.value_preds[:-1]
        advantages = (advantages - advantages.mean()) / (
            advantages.std() + 1e-5)

        value_loss_epoch = 0
        action_loss_epoch = 0
        dist_entropy_epoch = 0

        for e in range(self.ppo_epoch):
            if self.actor_critic.is_recurrent:
                data_generator = rollouts.recurrent_generator(
                    advantages, self.num_mini_batch)
            else:
                data_generator = rollouts.feed_forward_generator(
                    advantages, self.num_mini_batch)

            for sample in data_generator:
                obs_batch, recurrent_hidden_states_batch, actions_batch, \
                    value_preds_batch, return_batch, masks_batch, old_action_log_probs_batch, \
                    adv_targ = sample

                # Reshape to do in a single forward pass for all steps
                values, action_log_probs, dist_entropy, _ = self.actor_critic.evaluate_actions(
                    obs_batch, recurrent_hidden_states_batch, masks_batch,
                    actions_batch)

                ratio = torch.exp(action_log_probs -
                                  old_action_log_probs_batch)
                surr1 = ratio * adv_targ
                surr2 = torch.clamp(ratio, 1.0 - self.clip_param,
                                    1.0 + self.clip_param) * adv_targ
                action_loss = -torch.min(surr1, surr2).mean()

                if self.use_clipped_value_loss:
                    value_pred_clipped = value_preds_batch + \
                        (values - value_preds_batch).clamp(-self.clip_param, self.clip_param)
                    value_losses = (values - return_batch).pow(2)
                    value_losses_clipped = (
                        value_pred_clipped - return_batch).pow(2)
                    value_loss = torch.max(value_losses, value_losses_clipped).mean()
                else:
                    value_loss = (return_batch - values).pow(2).mean()

                self.optimizer.zero_grad()
                (value_loss * self.value_loss_coef + action_loss -
                 dist_entropy * self.entropy_coef).backward()
                nn.utils.clip_grad_norm_(self.actor_critic.parameters(),
                                         self.max_grad_norm)
                self.optimizer.step()

                value_loss_epoch += value_loss.item()
                action_loss_epoch += action_loss.item()
                dist_entropy_epoch += dist_entropy.item()

        num_updates = self.ppo_epoch * self.num_mini_batch

        value_loss_epoch /= num_updates
        action_loss_epoch /= num_updates
        dist_entropy_epoch /= num_updates

        return value_loss_epoch, action_loss_epoch, dist_entropy_epoch


class CueVecEnv:
    """# differs: a2c_ppo_acktr's make_vec_envs (gym environments in a VecPyTorch wrapper): the made-up cue task with
    the wrapper's calls (`reset()` giving a float tensor of observations, `step(actions)` giving tensors of
    observations and (N, 1) rewards, numpy dones and a list of infos, `'episode'` in an ended one's info); an
    observation is the cue one-hot ([1, 0] or [0, 1]) at an episode's first step and [0, 0] after it."""

    def __init__(self, num_processes, length=3, seed=0):
        self.task = CueTask(num_processes, length, seed)
        self.observation_space = Space(shape=(2,))
        self.action_space = Discrete(2)

    def observe(self):
        shown = self.task.showing()
        return torch.tensor(np.stack([shown == 0, shown == 1], 1).astype(np.float32))

    def reset(self):
        self.task.reset()
        return self.observe()

    def step(self, action):
        reward, done, finished = self.task.step(action.numpy()[:, 0])
        infos = [{} if f is None else {"episode": {"r": f[0], "l": f[1]}} for f in finished]
        return self.observe(), torch.tensor(reward[:, None].astype(np.float32)), done, infos


def a2c_ppo_training(num_updates, num_processes=16, num_steps=6, hidden_size=16, lr=3e-3):
    """Drives Policy, RolloutStorage and PPO as a2c_ppo_acktr's main.py does. That main.py at these files' revision
    is not in the index (its stored main.py is the 2017 one); the loop is the one the index's copies of it write:
    act under no_grad from rollouts.obs[step], rollouts.recurrent_hidden_states[step] and rollouts.masks[step], the
    masks and bad_masks as FloatTensors of [0.0] / [1.0], insert, get_value under no_grad, compute_returns,
    update, after_update. Returns the policy, the PPO and each finished episode's reward."""
    envs = CueVecEnv(num_processes)
    actor_critic = Policy(envs.observation_space.shape, envs.action_space,
                          base_kwargs={'recurrent': True, 'hidden_size': hidden_size})
    agent = PPO(actor_critic, 0.2, 4, 2, 0.5, 0.01, lr=lr, eps=1e-5, max_grad_norm=0.5)
    rollouts = RolloutStorage(num_steps, num_processes, envs.observation_space.shape, envs.action_space,
                              actor_critic.recurrent_hidden_state_size)
    obs = envs.reset()
    rollouts.obs[0].copy_(obs)
    episode_rewards, losses = [], []
    for j in range(num_updates):
        for step in range(num_steps):
            with torch.no_grad():
                value, action, action_log_prob, recurrent_hidden_states = actor_critic.act(
                    rollouts.obs[step], rollouts.recurrent_hidden_states[step], rollouts.masks[step])
            obs, reward, done, infos = envs.step(action)
            for info in infos:
                if 'episode' in info.keys():
                    episode_rewards.append(info['episode']['r'])
            masks = torch.FloatTensor([[0.0] if done_ else [1.0] for done_ in done])
            bad_masks = torch.FloatTensor([[0.0] if 'bad_transition' in info.keys() else [1.0] for info in infos])
            rollouts.insert(obs, recurrent_hidden_states, action, action_log_prob, value, reward, masks, bad_masks)
        with torch.no_grad():
            next_value = actor_critic.get_value(rollouts.obs[-1], rollouts.recurrent_hidden_states[-1],
                                                rollouts.masks[-1]).detach()
        rollouts.compute_returns(next_value, True, 0.99, 0.95, True)
        losses.append(agent.update(rollouts))
        rollouts.after_update()
    return actor_critic, agent, np.array(episode_rewards), losses


# ---- 2. numpy references ------------------------------------------------------------------------------------

def np_forward_gru(p, x, hxs, masks, prefix="base.gru."):
    """_forward_gru as the recursion it computes: for each step t, h = GRU(x_t, h * mask_t)."""
    N = len(hxs)
    x, masks = x.reshape(-1, N, x.shape[-1]), masks.reshape(-1, N)
    h, outs = hxs, []
    for t in range(len(x)):
        h = np_gru_cell(x[t], h * masks[t][:, None], p[prefix + "weight_ih_l0"], p[prefix + "weight_hh_l0"],
                        p[prefix + "bias_ih_l0"], p[prefix + "bias_hh_l0"])
        outs.append(h)
    return np.concatenate(outs), h


def np_policy_evaluate(p, obs, hxs, masks, actions):
    """Policy.evaluate_actions with a recurrent MLPBase: the GRU, the two tanh MLPs, critic_linear, and
    Categorical(logits=dist.linear(actor features)): values, log pi(a), the mean entropy, the last state."""
    x, h = np_forward_gru(p, obs, hxs, masks)

    def mlp(name, v):
        v = np.tanh(v @ p[f"base.{name}.0.weight"].T + p[f"base.{name}.0.bias"])
        return np.tanh(v @ p[f"base.{name}.2.weight"].T + p[f"base.{name}.2.bias"])

    value = mlp("critic", x) @ p["base.critic_linear.weight"].T + p["base.critic_linear.bias"]
    logits = mlp("actor", x) @ p["dist.linear.weight"].T + p["dist.linear.bias"]
    logp, entropy = np_categorical(logits, actions.reshape(-1))
    return value[:, 0], logp, entropy.mean(), h


def np_returns(rewards, values, masks, bad_masks, next_value, gamma, lam, use_gae, proper):
    """compute_returns' four recursions, over (T, N) arrays; values and masks have T + 1 rows."""
    values = values.copy()
    values[-1] = next_value
    returns = np.zeros_like(values)
    returns[-1] = next_value
    gae = 0.0
    for t in reversed(range(len(rewards))):
        if use_gae:
            delta = rewards[t] + gamma * values[t + 1] * masks[t + 1] - values[t]
            gae = delta + gamma * lam * masks[t + 1] * gae
            gae = gae * bad_masks[t + 1] if proper else gae
            returns[t] = gae + values[t]
        elif proper:
            returns[t] = ((returns[t + 1] * gamma * masks[t + 1] + rewards[t]) * bad_masks[t + 1]
                          + (1 - bad_masks[t + 1]) * values[t])
        else:
            returns[t] = returns[t + 1] * gamma * masks[t + 1] + rewards[t]
    return returns


def np_ppo_loss(p, d, clip, value_coef, entropy_coef):
    """PPO.update's loss on one minibatch of every environment: advantages normalised over the whole rollout by its
    mean and unbiased std (+ 1e-5), -min(r A, clip(r) A), the clipped value loss max((v - R)^2, (v_old + clip(v -
    v_old) - R)^2), both means; value_coef * value loss + action loss - entropy_coef * entropy."""
    T, N = d["rewards"].shape
    adv = d["returns"][:-1] - d["values"][:-1]
    adv = ((adv - adv.mean()) / (adv.std(ddof=1) + 1e-5)).reshape(-1)
    value, logp, entropy, _ = np_policy_evaluate(p, d["obs"][:-1].reshape(T * N, -1), d["hxs"],
                                                 d["masks"][:-1].reshape(-1), d["actions"])
    ratio = np.exp(logp - d["old_logp"])
    action_loss = -np.minimum(ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv).mean()
    old_v, ret = d["values"][:-1].reshape(-1), d["returns"][:-1].reshape(-1)
    clipped = old_v + np.clip(value - old_v, -clip, clip)
    value_loss = np.maximum((value - ret) ** 2, (clipped - ret) ** 2).mean()
    return value_loss * value_coef + action_loss - entropy * entropy_coef, value_loss, action_loss, entropy


def recurrent_policy(hidden_size=5):
    return Policy((3,), Discrete(3), base_kwargs={'recurrent': True, 'hidden_size': hidden_size})


MASK_PATTERNS = {
    "no episode ends": [],
    "one step with an end (a 0-d has_zeros)": [(2, 1)],
    "ends at three steps": [(0, 2), (1, 0), (3, 0), (3, 2)],
}


def gru_case(pattern, T=5, N=3, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.ones((T, N))
    for t, n in MASK_PATTERNS[pattern]:
        masks[t, n] = 0.0
    return rng.standard_normal((T * N, 3)), rng.standard_normal((N, 5)), masks.reshape(-1, 1)


# ---- 2. tests -----------------------------------------------------------------------------------------------

def test_a2c_init_through_dot_data_is_refused_naming_the_parameter_as_documented():
    """utils.init's `weight_init(module.weight.data, gain=gain)` as written: .data is the read-only numpy array
    here (docs/pytorch.md), and nn.init refuses it with a TypeError saying to pass the parameter; the port passes
    module.weight, which gives MLPBase's orthogonal weights with gain sqrt(2) and zero biases."""
    layer = nn.Linear(4, 3)
    with pytest.raises(TypeError, match=r"orthogonal_.*pass the parameter itself"):
        nn.init.orthogonal_(layer.weight.data, gain=1)
    init(layer, nn.init.orthogonal_, lambda x: nn.init.constant_(x, 0), np.sqrt(2))
    w = arr(layer.weight)
    np.testing.assert_allclose(w @ w.T, 2 * np.eye(3), atol=1e-6)
    assert not arr(layer.bias).any()


@pytest.mark.parametrize("pattern", list(MASK_PATTERNS))
def test_a2c_forward_gru_over_runs_between_episode_ends_is_numpys(float64, pattern):
    """_forward_gru on a flattened (T * N) batch: the runs of steps between any environment's episode end go
    through nn.GRU whole, h multiplied by the mask at each run's start; it equals the step-by-step recursion
    h = GRU(x_t, h * mask_t), for no ends (has_zeros empty), one (nonzero().squeeze() is 0-d) and several."""
    base = recurrent_policy().base
    x, hxs, masks = gru_case(pattern)
    out, h = base._forward_gru(torch.tensor(x), torch.tensor(hxs), torch.tensor(masks))
    np_out, np_h = np_forward_gru(params_of(base), x, hxs, masks, prefix="gru.")
    assert out.shape == (15, 5) and h.shape == (3, 5)
    np.testing.assert_allclose(arr(out), np_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(h), np_h, rtol=1e-10, atol=1e-12)
    one, h1 = base._forward_gru(torch.tensor(x[:3]), torch.tensor(hxs), torch.tensor(masks[3:6]))
    np_one, _ = np_forward_gru(params_of(base), x[:3], hxs, masks[3:6], prefix="gru.")
    np.testing.assert_allclose(arr(one), np_one, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(h1), np_one, rtol=1e-10, atol=1e-12)


def test_a2c_forward_gru_gradients_are_central_differences(float64):
    """The gradient of a weighted sum of _forward_gru's outputs and last state in the GRU's weights and in the
    initial state hxs, whose rows reach the loss only until each environment's first episode end."""
    base = recurrent_policy().base
    x, hxs, masks = gru_case("ends at three steps")
    weights = np.random.default_rng(1).standard_normal((15, 5))
    hxs_t = torch.tensor(hxs, requires_grad=True)
    out, h = base._forward_gru(torch.tensor(x), hxs_t, torch.tensor(masks))
    ((out * torch.tensor(weights)).sum() + h.sum()).backward()
    base_p = params_of(base)

    def loss(p, state=hxs):
        o, last = np_forward_gru(p, x, state, masks, prefix="gru.")
        return (o * weights).sum() + last.sum()

    grads = {n: np.asarray(q.grad) for n, q in base.named_parameters()}
    for k, name in enumerate(["gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0"]):
        idx = some_indices(base_p[name].shape, 3, k)
        np.testing.assert_allclose([grads[name][i] for i in idx],
                                   central(lambda v, name=name: loss({**base_p, name: v}), base_p[name], idx),
                                   rtol=1e-6, atol=1e-9, err_msg=name)
    idx = [(0, 1), (1, 4), (2, 0)]
    np.testing.assert_allclose([hxs_t.grad[i] for i in idx], central(lambda v: loss(base_p, v), hxs, idx),
                               rtol=1e-6, atol=1e-9)


def test_a2c_fixed_distributions_are_the_formulas(float64):
    """FixedCategorical: sample() and mode() as (N, 1) columns, log_probs of an (N, 1) column of actions as an
    (N, 1) column of log softmax(z)[a]; FixedNormal (DiagGaussian's): log_probs summed over the action's entries,
    entropy summed (sum of log sigma + log(2 pi e) / 2), mode the mean."""
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 3))
    dist = FixedCategorical(logits=torch.tensor(z))
    actions = np.array([[2], [0], [1], [1]])
    np.testing.assert_allclose(arr(dist.log_probs(torch.tensor(actions))), np_log_softmax(z)[np.arange(4),
                                                                                             actions[:, 0]][:, None],
                               rtol=1e-12)
    assert dist.mode().tolist() == z.argmax(-1)[:, None].tolist()
    sample = dist.sample()
    assert sample.shape == (4, 1) and sample.dtype == torch.int64
    head = DiagGaussian(3, 2)
    features = rng.standard_normal((4, 3))
    normal = head(torch.tensor(features))
    mean = features @ arr(head.fc_mean.weight).T
    a = rng.standard_normal((4, 2))
    np.testing.assert_allclose(arr(normal.log_probs(torch.tensor(a))),
                               (-0.5 * (a - mean) ** 2 - 0.5 * np.log(2 * np.pi)).sum(-1, keepdims=True),
                               rtol=1e-12)
    np.testing.assert_allclose(arr(normal.entropy()), np.full(4, np.log(2 * np.pi * np.e)), rtol=1e-12)
    np.testing.assert_allclose(arr(normal.mode()), mean, rtol=1e-12)


def filled_storage(policy, T=4, N=4, seed=5):
    """A RolloutStorage filled by insert() with made-up observations, masks (some 0), bad masks (one 0), actions and
    rewards, and the policy's own log-probabilities and values (numpy's) set off by amounts inside and outside
    the clip range; returns the storage and the arrays."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((T + 1, N, 3))
    masks = np.ones((T + 1, N))
    masks[1, 2] = masks[2, 0] = masks[3, 3] = 0.0
    bad_masks = np.ones((T + 1, N))
    bad_masks[3, 1] = 0.0
    hxs = rng.standard_normal((N, 5))
    actions = rng.integers(0, 3, (T, N))
    rewards = rng.standard_normal((T, N))
    values, logp, _, _ = np_policy_evaluate(params_of(policy), obs[:-1].reshape(T * N, 3), hxs,
                                            masks[:-1].reshape(-1), actions)
    offsets = np.resize([0.5, -0.05, 0.12, -0.3, 0.02], T * N).reshape(T, N)
    old_logp, old_values = logp.reshape(T, N) + offsets, values.reshape(T, N) - offsets[::-1]
    storage = RolloutStorage(T, N, (3,), Discrete(3), 5)
    storage.obs[0].copy_(torch.tensor(obs[0]))
    storage.recurrent_hidden_states[0].copy_(torch.tensor(hxs))
    storage.masks[0].copy_(torch.tensor(masks[0][:, None]))
    for t in range(T):
        storage.insert(torch.tensor(obs[t + 1]), torch.tensor(rng.standard_normal((N, 5))),
                       torch.tensor(actions[t][:, None]), torch.tensor(old_logp[t][:, None]),
                       torch.tensor(old_values[t][:, None]), torch.tensor(rewards[t][:, None]),
                       torch.tensor(masks[t + 1][:, None]), torch.tensor(bad_masks[t + 1][:, None]))
    values = np.concatenate([old_values, np.zeros((1, N))])
    return storage, dict(obs=obs, masks=masks, bad_masks=bad_masks, hxs=hxs, actions=actions, rewards=rewards,
                         old_logp=old_logp.reshape(-1), values=values)


@pytest.mark.parametrize("use_gae", [True, False])
@pytest.mark.parametrize("proper", [True, False])
def test_a2c_rollout_storage_returns_are_numpys(float64, use_gae, proper):
    """insert() writes each step into the (T + 1, N, ...) buffers by copy_ into a row; compute_returns' four
    recursions (GAE or discounted, with or without the time-limit bad masks) are numpy's; after_update carries
    the last observation, state and masks into row 0."""
    storage, d = filled_storage(recurrent_policy())
    assert storage.step == 0 and storage.actions.dtype == torch.int64
    np.testing.assert_allclose(arr(storage.obs), d["obs"])
    np.testing.assert_allclose(arr(storage.masks)[..., 0], d["masks"])
    next_value = np.array([[0.3], [-0.2], [1.1], [0.4]])
    storage.compute_returns(torch.tensor(next_value), use_gae, 0.9, 0.8, proper)
    expected = np_returns(d["rewards"], d["values"], d["masks"], d["bad_masks"], next_value[:, 0], 0.9, 0.8, use_gae,
                          proper)
    np.testing.assert_allclose(arr(storage.returns)[:-1, :, 0], expected[:-1], rtol=1e-12)
    last = arr(storage.recurrent_hidden_states[-1])
    storage.after_update()
    np.testing.assert_allclose(arr(storage.obs[0]), d["obs"][-1])
    np.testing.assert_allclose(arr(storage.recurrent_hidden_states[0]), last)
    np.testing.assert_allclose(arr(storage.masks[0])[:, 0], d["masks"][-1])


def test_a2c_recurrent_generator_yields_whole_environments_with_their_first_state(float64):
    """recurrent_generator(advantages, 2): two minibatches of two whole environments each (a randperm of the
    environments), each (T, N, ...) buffer stacked on axis 1 and flattened to (T * N, ...), the state only that of
    row 0 (N, H): each batch is the numpy columns of its environments."""
    storage, d = filled_storage(recurrent_policy())
    advantages = torch.tensor(np.random.default_rng(6).standard_normal((4, 4, 1)))
    seen = []
    for obs, hxs, actions, values, returns, masks, old_logp, adv in storage.recurrent_generator(advantages, 2):
        rows = [int(np.flatnonzero((d["hxs"] == row).all(1))[0]) for row in arr(hxs)]
        seen += rows
        assert obs.shape == (8, 3) and hxs.shape == (2, 5) and actions.shape == (8, 1) and adv.shape == (8, 1)
        np.testing.assert_allclose(arr(obs), d["obs"][:-1][:, rows].reshape(8, 3))
        np.testing.assert_allclose(arr(masks)[:, 0], d["masks"][:-1][:, rows].reshape(-1))
        np.testing.assert_allclose(arr(adv)[:, 0], arr(advantages)[:, rows, 0].reshape(-1))
        np.testing.assert_allclose(arr(old_logp)[:, 0], d["old_logp"].reshape(4, 4)[:, rows].reshape(-1))
        assert arr(actions)[:, 0].tolist() == d["actions"][:, rows].reshape(-1).tolist()
    assert sorted(seen) == [0, 1, 2, 3]


def test_a2c_ppo_update_losses_and_gradients_are_numpys(float64):
    """PPO.update with one epoch and one minibatch of all four environments: the returned value loss, action loss
    and entropy are numpy's, and the step is minus the gradient of numpy's loss (the test swaps PPO's Adam for
    SGD(lr=1) and lifts max_grad_norm out of the way, so that the step shows the gradient; PPO's own optimizer is
    Adam with the eps it was given)."""
    policy = recurrent_policy()
    storage, d = filled_storage(policy)
    next_value = np.array([[0.3], [-0.2], [1.1], [0.4]])
    storage.compute_returns(torch.tensor(next_value), True, 0.9, 0.8, True)
    d["returns"] = arr(storage.returns)[..., 0]
    ppo = PPO(policy, 0.2, 1, 1, 0.5, 0.01, lr=7e-4, eps=1e-5, max_grad_norm=1e9)
    assert ppo.optimizer.param_groups[0]["eps"] == 1e-5 and ppo.optimizer.param_groups[0]["lr"] == 7e-4
    ppo.optimizer = optim.SGD(policy.parameters(), lr=1.0)
    before = params_of(policy)
    value_loss, action_loss, entropy = ppo.update(storage)
    _, np_value_loss, np_action_loss, np_entropy = np_ppo_loss(before, d, 0.2, 0.5, 0.01)
    np.testing.assert_allclose([value_loss, action_loss, entropy], [np_value_loss, np_action_loss, np_entropy],
                               rtol=1e-10)
    after = params_of(policy)
    for k, name in enumerate(["base.gru.weight_ih_l0", "base.gru.weight_hh_l0", "base.actor.0.weight",
                              "base.critic.2.bias", "base.critic_linear.weight", "dist.linear.weight"]):
        idx = some_indices(before[name].shape, 3, 20 + k)
        np.testing.assert_allclose([before[name][i] - after[name][i] for i in idx],
                                   central(lambda v, name=name: np_ppo_loss({**before, name: v}, d, 0.2, 0.5, 0.01)[0],
                                           before[name], idx), rtol=1e-6, atol=1e-9, err_msg=name)


def test_a2c_ppo_training_on_the_cue_task_learns_to_remember_the_cue():
    """Thirty updates (16 environments, 6 steps, 4 epochs of 2 minibatches of environments, Adam with eps 1e-5,
    clipping at 0.5) of the recurrent MLP policy: the cue is seen two steps before the rewarded action, so only the
    GRU's state can carry it; the mean episode reward rises from near 0 to near 1 (over the first and last
    quarters of the episodes) and the value loss falls."""
    torch.manual_seed(0)
    _, _, rewards, losses = a2c_ppo_training(30)
    quarter = len(rewards) // 4
    assert len(rewards) == 30 * 6 * 16 // 3
    assert rewards[:quarter].mean() < 0.5 and rewards[-quarter:].mean() > 0.8
    assert np.mean([v for v, _, _ in losses[-3:]]) < 0.5 * np.mean([v for v, _, _ in losses[:3]])


# ================================================================================================================
# 3. seungeunrho/minimalRL r2d2.py: stored recurrent states, burn-in, the double-Q learner
# ================================================================================================================

# Hyperparameters
learning_rate = 0.0005
gamma = 0.98
buffer_limit = 50000
batch_size = 32
cell_size = 64
sequence_length = 20
over_lapping_length = 10
burn_in_length = 10
Transition = namedtuple('Transition', ('state', 'next_state', 'action', 'reward', 'mask', 'rnn_state'))


class Qnet(nn.Module):
    def __init__(self, num_inputs=4, num_outputs=2):
        super().__init__()
        self.num_inputs = num_inputs
        self.num_outputs = num_outputs

        self.lstm = nn.LSTM(input_size=num_inputs, hidden_size=16, batch_first=True)
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, num_outputs)

    def forward(self, x, hidden=None):
        # [batch_size, sequence_length, num_inputs]
        if len(x.shape) == 1:
            batch_size = 1
            sequence_length = 1
            x = x.view(batch_size, sequence_length, -1)
        else:
            batch_size = x.size()[0]
            sequence_length = x.size()[1]
        out, hidden = self.lstm(x, hidden)

        out = F.relu(self.fc1(out))
        qvalue = self.fc2(out).view(batch_size, sequence_length, self.num_outputs)

        return qvalue, hidden


class LocalBuffer(object):
    def __init__(self):
        self.local_memory = []
        self.memory = []
        self.over_lapping_from_prev = []

    def push(self, state, next_state, action, reward, mask, rnn_state):
        self.local_memory.append(
            Transition(state, next_state, action, reward, mask, torch.stack(rnn_state).view(2, -1)))
        if (len(self.local_memory) + len(self.over_lapping_from_prev)) == sequence_length or mask == 0:
            self.local_memory = self.over_lapping_from_prev + self.local_memory
            length = len(self.local_memory)
            while len(self.local_memory) < sequence_length:  # zero padding to standardize length of the each
                # experience
                self.local_memory.append(Transition(torch.tensor([.0, .0, .0, .0], dtype=torch.float),
                                                    torch.tensor([.0, .0, .0, .0], dtype=torch.float), 0, 0, 0,
                                                    torch.zeros([2, 1, 16]).view(2, -1)))  # rnn state = [(hidden,
                # cell), seq_, dim]
            self.memory.append([self.local_memory, length])  # length tells true length of the memory
            if mask == 0:
                self.over_lapping_from_prev = []
            else:
                self.over_lapping_from_prev = self.local_memory[over_lapping_length:]
            self.local_memory = []

    def get(self):
        episodes = self.memory
        batch_state, batch_next_state, batch_action, batch_reward, batch_mask, batch_rnn_state = [], [], [], [], [], []
        lengths = []
        for episode, length in episodes:
            batch = Transition(*zip(*episode))

            batch_state.append(torch.stack(list(batch.state)))
            batch_next_state.append(torch.stack(list(batch.next_state)))
            batch_action.append(torch.tensor(list(batch.action)))
            batch_reward.append(torch.tensor(list(batch.reward)))
            batch_mask.append(torch.tensor(list(batch.mask)))
            batch_rnn_state.append(torch.stack(list(batch.rnn_state)))
            lengths.append(length)

        self.memory = []
        return Transition(batch_state, batch_next_state, batch_action, batch_reward, batch_mask,
                          batch_rnn_state), lengths


class Memory(object):
    def __init__(self):
        self.memory = deque(maxlen=buffer_limit)

    def size(self):
        return len(self.memory)

    def put(self, batch, lengths):
        for i in range(len(batch)):
            self.memory.append([Transition(batch.state[i], batch.next_state[i], batch.action[i], batch.reward[i],
                                           batch.mask[i], batch.rnn_state[i]), lengths[i]])

    def sample(self, batch_size):
        indexes = np.random.choice(range(len(self.memory)), batch_size)
        episodes = [self.memory[idx][0] for idx in indexes]
        lengths = [self.memory[idx][1] for idx in indexes]

        batch_state, batch_next_state, batch_action, batch_reward, batch_mask, batch_rnn_state = [], [], [], [], [], []
        # differs: the never-read `batch_step` (and its `[]`) dropped from the line above (pyflakes)
        for episode in episodes:
            batch_state.append(episode.state)
            batch_next_state.append(episode.next_state)
            batch_action.append(episode.action)
            batch_reward.append(episode.reward)
            batch_mask.append(episode.mask)
            batch_rnn_state.append(episode.rnn_state)

        return Transition(batch_state, batch_next_state, batch_action, batch_reward, batch_mask,
                          batch_rnn_state), indexes, lengths


class Learner:
    def __init__(self, model, target_model, share_exp_mem, lock):
        self.q = model
        self.q_target = target_model
        self.optimizer = optim.Adam(self.q.parameters())
        self.share_exp_mem = share_exp_mem
        self.lock = lock

        self.n_epochs = 0

    def run(self, steps):  # differs: `while True` (a process of its own): `steps` steps, in this process
        while self.n_epochs < steps:
            if self.share_exp_mem.size() > batch_size:
                batch, indexes, lengths = self.share_exp_mem.sample(batch_size)
                self.train(batch, lengths)
                self.n_epochs += 1
                if self.n_epochs % 5 == 0:
                    self.q_target.load_state_dict(self.q.state_dict())

    def train(self, batch, lengths):
        def slice_burn_in(item):
            return item[:, burn_in_length:, :]

        batch_size = torch.stack(batch.state).size()[0]
        states = torch.stack(batch.state).view(batch_size, sequence_length, self.q.num_inputs)
        next_states = torch.stack(batch.next_state).view(batch_size, sequence_length, self.q.num_inputs)
        actions = torch.stack(batch.action).view(batch_size, sequence_length, -1).long()
        rewards = torch.stack(batch.reward).view(batch_size, sequence_length, -1)
        masks = torch.stack(batch.mask).view(batch_size, sequence_length, -1)
        rnn_state = torch.stack(batch.rnn_state).view(batch_size, sequence_length, 2, -1)

        [h0, c0] = rnn_state[:, 0, :, :].transpose(0, 1)  # the first hidden state among sequence_length
        h0 = h0.unsqueeze(0).detach()
        c0 = c0.unsqueeze(0).detach()

        [h1, c1] = rnn_state[:, 1, :, :].transpose(0, 1)  # the second hidden state among sequence_length
        h1 = h1.unsqueeze(0).detach()
        c1 = c1.unsqueeze(0).detach()

        pred, _ = self.q(states, (h0, c0))
        next_pred, _ = self.q_target(next_states, (h1, c1))

        next_pred_online, _ = self.q(next_states, (h1, c1))

        pred = slice_burn_in(pred)
        next_pred = slice_burn_in(next_pred)
        actions = slice_burn_in(actions)
        rewards = slice_burn_in(rewards)
        masks = slice_burn_in(masks)
        next_pred_online = slice_burn_in(next_pred_online)

        pred = pred.gather(2, actions)

        _, next_pred_online_action = next_pred_online.max(dim=2)  # differs: `.max(2)`, the maxima alone here
        # (numpy's meaning): unpacking it unpacks the rows, with a warning naming `max(dim=2)` (docs/pytorch.md)

        target = rewards + masks * gamma * next_pred.gather(2, next_pred_online_action.unsqueeze(2))

        td_error = pred - target.detach()

        for idx, length in enumerate(lengths):
            td_error[idx][length - burn_in_length:][:] = 0

        loss = pow(td_error, 2).mean()

        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


class Actor:
    def __init__(self, actor_id, n_actors, model, target_model, share_exp_mem, lock):
        self.env = PolePicking()  # differs: gym.make('CartPole-v1'), the made-up environment below
        self.actor_id = actor_id
        self.epsilon = 0.1 + (actor_id / 7) / n_actors  # 0.4 ** (1 + actor_id * 7 / (n_actors - 1))

        self.local_buffer = LocalBuffer()
        self.q = model
        self.q_target = target_model
        self.net_load_interval = 10
        self.overlap_length = 5

        self.share_exp_mem = share_exp_mem
        self.lock = lock

    def run(self, episodes=30000):  # differs: the episode count (30000 in `range`) is an argument
        for e in range(episodes):
            done = False

            score = 0
            state = self.env.reset()
            state = torch.tensor(state, dtype=torch.float)
            hidden = (torch.zeros(1, 1, 16), torch.zeros(1, 1, 16))

            while not done:
                epsilon = max(0.01, self.epsilon - 0.01 * (e / 200))  # Linear annealing from 8% to 1%
                with torch.no_grad():
                    q_value, new_hidden = self.q(state)
                    target_q_value, target_new_hidden = self.q_target(state)  # todo : replay 에 target hidden 도
                    # 넣어야 할텐데..?
                if random.random() < epsilon:
                    action = random.randint(0, 1)
                else:
                    action = q_value.argmax().item()

                next_state, reward, done, _ = self.env.step(action)

                # next_state = state_to_partial_observability(next_state)
                next_state = torch.tensor(next_state, dtype=torch.float)

                mask = 0 if done else 1
                self.local_buffer.push(state, next_state, action, reward, mask,
                                       hidden)  # todo : target_hidden 은 저장 안하나?
                hidden = new_hidden
                if len(self.local_buffer.memory) == batch_size:
                    batch, lengths = self.local_buffer.get()
                    # memory.push(td_error, batch, lengths)
                    self.lock.acquire()
                    self.share_exp_mem.put(batch, lengths)
                    self.lock.release()

                score += reward
                state = next_state

            if e % 20 == 0:
                print('episodes:', e, 'actor_id:', self.actor_id, 'reward:', score)


def r2d2_main(actor_episodes, learner_steps):
    """main() with its processes run one after the other (# differs: torch.multiprocessing is not here, so the
    actor's episodes run first, then the learner's steps, in this process; mp.Lock is a threading.Lock and the
    Manager's shared Memory a Memory); returns the models, the memory and the learner."""
    model = Qnet()
    target_model = Qnet()
    target_model.load_state_dict(model.state_dict())
    model.share_memory()
    target_model.share_memory()

    experience_memory = Memory()
    lock = threading.Lock()
    actor = Actor(0, 1, model, target_model, experience_memory, lock)
    actor.run(actor_episodes)
    learner = Learner(model, target_model, experience_memory, lock)
    learner.run(learner_steps)
    return model, target_model, experience_memory, learner


class PolePicking:
    """# differs: gym's CartPole-v1 (the old API: `reset()` giving the state, `step(action)` giving `(state, reward,
    done, info)`): a state of four numbers drawn anew each step; action 1 earns +1 when state[0] > 0 and action 0
    earns +1 otherwise, the other action -1; an episode lasts 25 steps (longer than the burn-in, as CartPole's
    do)."""

    def __init__(self, length=25, seed=0):
        self.length = length
        self.rng = np.random.default_rng(seed)

    def reset(self):
        self.t = 0
        self.state = self.rng.standard_normal(4)
        return self.state

    def step(self, action):
        reward = 1.0 if action == int(self.state[0] > 0) else -1.0
        self.t += 1
        self.state = self.rng.standard_normal(4)
        return self.state, reward, self.t >= self.length, {}


# ---- 3. numpy references ------------------------------------------------------------------------------------

def np_qnet(p, x, h, c):
    """Qnet: the batch-first LSTM from (h, c) over x (B, T, 4), ReLU(fc1), fc2: Q (B, T, 2) and the last state."""
    outs = []
    for t in range(x.shape[1]):
        h, c = np_lstm_cell(x[:, t], h, c, p["lstm.weight_ih_l0"], p["lstm.weight_hh_l0"], p["lstm.bias_ih_l0"],
                            p["lstm.bias_hh_l0"])
        outs.append(h)
    out = np.maximum(np.stack(outs, 1) @ p["fc1.weight"].T + p["fc1.bias"], 0)
    return out @ p["fc2.weight"].T + p["fc2.bias"], (h, c)


def np_td_error(p, p_target, d, target=None):
    """Learner.train's TD error: the online Q from each sequence's first stored state over the states, the target
    and online Q from its second stored state over the next states, the burn-in steps cut off; double Q, the
    action chosen by the online net and valued by the target net; the steps from `length - burn_in_length` on
    (Python's slice, so from the end when negative) set to 0. `target` given: used as the (detached) target."""
    rnn = d["rnn_state"]
    pred, _ = np_qnet(p, d["states"], rnn[:, 0, 0], rnn[:, 0, 1])
    pred = pred[:, burn_in_length:]
    actions = d["actions"][:, burn_in_length:]
    pred_a = np.take_along_axis(pred, actions[..., None], 2)[..., 0]
    if target is None:
        next_pred, _ = np_qnet(p_target, d["next_states"], rnn[:, 1, 0], rnn[:, 1, 1])
        online, _ = np_qnet(p, d["next_states"], rnn[:, 1, 0], rnn[:, 1, 1])
        chosen = online[:, burn_in_length:].argmax(2)
        target = (d["rewards"][:, burn_in_length:] + d["masks"][:, burn_in_length:] * gamma
                  * np.take_along_axis(next_pred[:, burn_in_length:], chosen[..., None], 2)[..., 0])
    td = pred_a - target
    for idx, length in enumerate(d["lengths"]):
        td[idx][length - burn_in_length:] = 0
    return td, target


def replay_batch(lengths=(20, 15, 7), seed=4):
    """Made-up sequences as LocalBuffer.get() lays them out: states, next states, actions, rewards, masks and the
    stored (h, c) of every step; zero past each length, the mask 0 at an episode's last step."""
    rng = np.random.default_rng(seed)
    B = len(lengths)
    d = dict(states=rng.standard_normal((B, 20, 4)), next_states=rng.standard_normal((B, 20, 4)),
             actions=rng.integers(0, 2, (B, 20)), rewards=rng.choice([-1.0, 1.0], (B, 20)),
             masks=np.ones((B, 20)), rnn_state=0.4 * rng.standard_normal((B, 20, 2, 16)), lengths=list(lengths))
    for i, n in enumerate(lengths):
        for key in ("states", "next_states", "actions", "rewards", "masks", "rnn_state"):
            d[key][i, n:] = 0
        if n < 20:
            d["masks"][i, n - 1] = 0.0
    return d


def as_transition(d):
    """The batch as Memory.sample() gives it: a Transition of lists of per-sequence tensors."""
    B = len(d["lengths"])
    return Transition(*[[torch.tensor(d[key][i]) for i in range(B)]
                        for key in ("states", "next_states", "actions", "rewards", "masks", "rnn_state")])


# ---- 3. tests -----------------------------------------------------------------------------------------------

def test_r2d2_qnet_is_numpys_from_a_given_state_and_for_one_state(float64):
    """Qnet: the batch-first LSTM from a given (h, c) (each (1, B, 16)) and the two Linear layers; a single state
    (a 1-d x) is viewed as a batch of one sequence of one step and starts from zeros (hidden=None)."""
    q = Qnet()
    rng = np.random.default_rng(7)
    x, h, c = rng.standard_normal((3, 6, 4)), rng.standard_normal((3, 16)), rng.standard_normal((3, 16))
    out, (hn, cn) = q(torch.tensor(x), (torch.tensor(h[None]), torch.tensor(c[None])))
    expected, (np_h, np_c) = np_qnet(params_of(q), x, h, c)
    np.testing.assert_allclose(arr(out), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(hn)[0], np_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(cn)[0], np_c, rtol=1e-10, atol=1e-12)
    one, (h1, _) = q(torch.tensor(x[0, 0]))
    zeros = np.zeros((1, 16))
    np.testing.assert_allclose(arr(one), np_qnet(params_of(q), x[:1, :1], zeros, zeros)[0], rtol=1e-10)
    assert one.shape == (1, 1, 2) and h1.shape == (1, 1, 16)


def test_r2d2_local_buffer_cuts_overlapping_padded_sequences():
    """LocalBuffer.push for a 25-step episode: a sequence of the first 20 steps, then one of its last 10 steps and
    the 5 after them, padded to 20 with zero transitions; get() stacks each sequence's tensors (rewards float32 and
    masks int64, as torch.tensor makes them of Python floats and ints) and the stored (h, c) as (20, 2, 16)."""
    buffer = LocalBuffer()
    rng = np.random.default_rng(8)
    states = rng.standard_normal((26, 4)).astype(np.float32)
    hiddens = rng.standard_normal((25, 2, 1, 1, 16)).astype(np.float32)
    for t in range(25):
        buffer.push(torch.tensor(states[t]), torch.tensor(states[t + 1]), t % 2, 1.0, 0 if t == 24 else 1,
                    (torch.tensor(hiddens[t, 0]), torch.tensor(hiddens[t, 1])))
    batch, lengths = buffer.get()
    assert lengths == [20, 15] and buffer.memory == [] and buffer.over_lapping_from_prev == []
    first, second = torch.stack(batch.state), torch.stack(batch.rnn_state)
    assert first.shape == (2, 20, 4) and second.shape == (2, 20, 2, 16)
    np.testing.assert_allclose(arr(first[0]), states[:20])
    np.testing.assert_allclose(arr(first[1])[:15], states[10:25])
    assert not arr(first[1])[15:].any()
    np.testing.assert_allclose(arr(second[1])[:15], hiddens[10:25].reshape(15, 2, 16))
    rewards, masks = torch.stack(batch.reward), torch.stack(batch.mask)
    assert rewards.dtype == torch.float32 and masks.dtype == torch.int64 and batch.action[0].dtype == torch.int64
    assert arr(rewards[1]).tolist() == [1.0] * 15 + [0.0] * 5 and arr(masks[1]).tolist() == [1] * 14 + [0] * 6


def test_r2d2_memory_put_keeps_six_sequences_of_a_batch_as_in_pytorch():
    """Memory.put loops over `range(len(batch))`, and a Transition has six fields: of the LocalBuffer's 32
    sequences it keeps the first 6 (the source's, in PyTorch too), so the learner waits until more than
    batch_size sequences have come in six at a time."""
    buffer, memory = LocalBuffer(), Memory()
    for t in range(20 * 32):
        buffer.push(torch.zeros(4), torch.zeros(4), 0, 1.0, 1, (torch.zeros(1, 1, 16), torch.zeros(1, 1, 16)))
    assert len(buffer.memory) == 63
    buffer.memory = buffer.memory[:32]
    memory.put(*buffer.get())
    assert memory.size() == 6
    batch, indexes, lengths = memory.sample(4)
    assert len(batch.state) == 4 and len(indexes) == 4 and lengths == [20] * 4


def test_r2d2_max_2_unpacked_is_the_maxima_here_as_documented():
    """The learner's `_, next_pred_online_action = next_pred_online.max(2)`: here `t.max(2)` is the maxima alone
    (numpy's meaning), so the unpacking unpacks its rows, warning with the fix (docs/pytorch.md): with a batch of
    32 sequences it is a ValueError, with a batch of 2 the second row of maxima instead of the indices. The port
    writes `.max(dim=2)`, PyTorch's pair."""
    q = torch.tensor(np.random.default_rng(9).standard_normal((32, 10, 2)))
    with pytest.warns(UserWarning, match=r"max\(dim="):
        with pytest.raises(ValueError, match="too many values to unpack"):
            _, next_pred_online_action = q.max(2)
    with pytest.warns(UserWarning, match=r"max\(dim="):
        _, second_row = q[:2].max(2)
    np.testing.assert_allclose(arr(second_row), arr(q)[1].max(-1))
    _, indices = q.max(dim=2)
    assert indices.dtype == torch.int64 and indices.tolist() == arr(q).argmax(2).tolist()


def test_r2d2_td_error_zeroed_through_a_part_of_a_part_takes_its_gradient_away():
    """`td_error[idx][length - burn_in_length:][:] = 0` writes into a part (a row) of a part (a slice) of a recorded
    tensor: the write lands in td_error and, as in PyTorch, the zeroed entries send no gradient back; a negative
    start counts from the end, as Python's slices do."""
    w = torch.tensor(np.arange(1.0, 21.0).reshape(2, 10, 1), requires_grad=True)
    td = w * 3.0
    for idx, length in enumerate([16, 7]):
        td[idx][length - burn_in_length:][:] = 0
    (td ** 2).sum().backward()
    kept = np.ones((2, 10, 1))
    kept[0, 6:] = kept[1, -3:] = 0
    np.testing.assert_allclose(arr(td), 3.0 * arr(w) * kept)
    np.testing.assert_allclose(w.grad, 18.0 * arr(w) * kept)


def test_r2d2_learner_train_step_is_minus_the_gradient_of_numpys_loss(float64):
    """Learner.train on three made-up sequences (lengths 20, 15 and 7, the last shorter than the burn-in): the test
    swaps the learner's Adam for SGD(lr=1), so the step is minus the gradient; it is the gradient of numpy's
    mean squared TD error with the target held fixed (it is `.detach()`ed), burn-in steps and the steps past each
    length (as the source counts them) left out."""
    q, q_target = Qnet(), Qnet()
    learner = Learner(q, q_target, Memory(), threading.Lock())
    assert learner.optimizer.param_groups[0]["lr"] == 1e-3  # Adam's default: the file's learning_rate is unused
    learner.optimizer = optim.SGD(q.parameters(), lr=1.0)
    d = replay_batch()
    before, target_params = params_of(q), params_of(q_target)
    td, target = np_td_error(before, target_params, d)
    assert np.count_nonzero(td[1]) == 5 and np.count_nonzero(td[2]) == 7 and np.count_nonzero(td[0]) == 10
    learner.train(as_transition(d), d["lengths"])
    after = params_of(q)

    def loss(p):
        return (np_td_error(p, target_params, d, target)[0] ** 2).mean()

    for k, name in enumerate(["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "fc1.weight",
                              "fc2.weight", "fc2.bias"]):
        idx = some_indices(before[name].shape, 3, 30 + k)
        np.testing.assert_allclose([before[name][i] - after[name][i] for i in idx], central(
            lambda v, name=name: loss({**before, name: v}), before[name], idx), rtol=1e-6, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(params_of(q_target)["fc2.weight"], target_params["fc2.weight"])


def test_r2d2_actor_stores_the_state_before_each_step_one_step_from_zero_as_written():
    """Actor.run calls `self.q(state)` without the hidden state (the source's; in PyTorch too), so each stored
    rnn_state is the LSTM's state after one step from zeros on the previous observation, and the first is zeros;
    every step runs under no_grad, so nothing stored has a history."""
    model, target = Qnet(), Qnet()
    actor = Actor(0, 1, model, target, Memory(), threading.Lock())
    _, printed = quietly(actor.run, 1)
    assert printed.startswith("episodes: 0 actor_id: 0 reward:")
    stored = actor.local_buffer.memory[0][0]
    assert len(actor.local_buffer.memory) == 2 and actor.local_buffer.memory[1][1] == 15
    assert not arr(stored[0].rnn_state).any()
    p = params_of(model)
    for t in (1, 7):
        _, (h, c) = np_qnet(p, arr(stored[t - 1].state)[None, None], np.zeros((1, 16)), np.zeros((1, 16)))
        np.testing.assert_allclose(arr(stored[t].rnn_state), np.concatenate([h, c]), rtol=1e-5, atol=1e-6)
    assert all(not s.rnn_state.requires_grad and s.rnn_state.grad_fn is None for s in stored)


def test_r2d2_main_share_memory_returns_the_model_and_shares_nothing_here():
    """main() calls `model.share_memory()` before handing the models to its processes. PyTorch's moves every
    parameter and buffer into shared memory and returns the module; here there are no other processes, so it
    returns the module and changes nothing, as each tensor's `share_memory_()` (docs/api.md). It was missing
    (AttributeError) when this round was written and was added with it."""
    model = nn.Sequential(Qnet().fc1, nn.BatchNorm1d(32))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    assert model.share_memory() is model
    assert all(not p.is_shared() for p in model.parameters())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.xfail(strict=True, raises=ModuleNotFoundError,
                   reason="torch.multiprocessing is not here: r2d2.py's `import torch.multiprocessing as mp` "
                          "(mp.Process, mp.Manager, mp.Lock around Hogwild-shared models) does not port; the test "
                          "runs the actor and the learner one after the other in one process")
def test_r2d2_imports_torch_multiprocessing_for_its_processes():
    import microgradseq.multiprocessing as mp
    assert callable(mp.Process) and callable(mp.Manager) and callable(mp.Lock)


def r2d2_accuracy(model, n=40):
    """How often the greedy action of Qnet, run over fresh 20-step sequences of PolePicking states from zeros,
    earns +1 after the burn-in's ten steps."""
    states = np.random.default_rng(9).standard_normal((n, 20, 4)).astype(np.float32)
    with torch.no_grad():
        q = model(torch.tensor(states))[0].numpy()[:, burn_in_length:]
    return np.mean(q.argmax(2) == (states[:, burn_in_length:, 0] > 0))


def test_r2d2_training_learns_the_rewarded_action():
    """A hundred actor episodes (36 stored sequences), then 300 learner steps (the target copied every five): the
    greedy action after the burn-in earns +1 from about half the time to over 70% of the time; share_memory(),
    which main() calls before starting its processes, returns the model."""
    (model, target, memory, learner), printed = quietly(r2d2_main, 100, 0)
    assert memory.size() == 36 and printed.count("episodes:") == 5
    before = r2d2_accuracy(model)
    learner.run(300)
    assert learner.n_epochs == 300 and before < 0.6 and r2d2_accuracy(model) > 0.7
    np.testing.assert_allclose(params_of(target)["fc2.weight"], params_of(model)["fc2.weight"])
    assert model.share_memory() is model


# ================================================================================================================
# 4. seungeunrho/minimalRL ppo-lstm.py: PPO with an LSTM, the chunk's first and second states stored
# ================================================================================================================

# Hyperparameters (learning_rate and gamma are r2d2.py's values too)
learning_rate = 0.0005
gamma = 0.98
lmbda = 0.95
eps_clip = 0.1
K_epoch = 2
T_horizon = 20


class PPOLSTM(nn.Module):  # differs: `PPO`, renamed here only because section 2's PPO class has that name
    def __init__(self):
        super(PPOLSTM, self).__init__()
        self.data = []

        self.fc1 = nn.Linear(4, 64)
        self.lstm = nn.LSTM(64, 32)
        self.fc_pi = nn.Linear(32, 2)
        self.fc_v = nn.Linear(32, 1)
        self.optimizer = optim.Adam(self.parameters(), lr=learning_rate)

    def pi(self, x, hidden):
        x = F.relu(self.fc1(x))
        x = x.view(-1, 1, 64)
        x, lstm_hidden = self.lstm(x, hidden)
        x = self.fc_pi(x)
        prob = F.softmax(x, dim=2)
        return prob, lstm_hidden

    def v(self, x, hidden):
        x = F.relu(self.fc1(x))
        x = x.view(-1, 1, 64)
        x, lstm_hidden = self.lstm(x, hidden)
        v = self.fc_v(x)
        return v

    def put_data(self, transition):
        self.data.append(transition)

    def make_batch(self):
        s_lst, a_lst, r_lst, s_prime_lst, prob_a_lst, h_in_lst, h_out_lst, done_lst = [], [], [], [], [], [], [], []
        for transition in self.data:
            s, a, r, s_prime, prob_a, h_in, h_out, done = transition

            s_lst.append(s)
            a_lst.append([a])
            r_lst.append([r])
            s_prime_lst.append(s_prime)
            prob_a_lst.append([prob_a])
            h_in_lst.append(h_in)
            h_out_lst.append(h_out)
            done_mask = 0 if done else 1
            done_lst.append([done_mask])

        s, a, r, s_prime, done_mask, prob_a = torch.tensor(s_lst, dtype=torch.float), torch.tensor(a_lst), \
            torch.tensor(r_lst), torch.tensor(s_prime_lst, dtype=torch.float), \
            torch.tensor(done_lst, dtype=torch.float), torch.tensor(prob_a_lst)
        self.data = []
        return s, a, r, s_prime, done_mask, prob_a, h_in_lst[0], h_out_lst[0]

    def train_net(self):
        s, a, r, s_prime, done_mask, prob_a, (h1_in, h2_in), (h1_out, h2_out) = self.make_batch()
        first_hidden = (h1_in.detach(), h2_in.detach())
        second_hidden = (h1_out.detach(), h2_out.detach())

        for i in range(K_epoch):
            v_prime = self.v(s_prime, second_hidden).squeeze(1)
            td_target = r + gamma * v_prime * done_mask
            v_s = self.v(s, first_hidden).squeeze(1)
            delta = td_target - v_s
            delta = delta.detach().numpy()

            advantage_lst = []
            advantage = 0.0
            for item in delta[::-1]:
                advantage = gamma * lmbda * advantage + item[0]
                advantage_lst.append([advantage])
            advantage_lst.reverse()
            advantage = torch.tensor(advantage_lst, dtype=torch.float)

            pi, _ = self.pi(s, first_hidden)
            pi_a = pi.squeeze(1).gather(1, a)
            ratio = torch.exp(torch.log(pi_a) - torch.log(prob_a))  # a/b == log(exp(a)-exp(b))

            surr1 = ratio * advantage
            surr2 = torch.clamp(ratio, 1 - eps_clip, 1 + eps_clip) * advantage
            loss = -torch.min(surr1, surr2) + F.smooth_l1_loss(v_s, td_target.detach())

            self.optimizer.zero_grad()
            loss.mean().backward(retain_graph=True)
            self.optimizer.step()


class CuePole:
    """# differs: gym's CartPole-v1 (the old API: `reset()` giving the state, `step(action)` giving `(state, reward,
    done, info)`): the made-up cue task for one environment, four numbers a state (the cue one-hot in the first two
    at an episode's first step, zeros after it), the last step's reward +100 or -100 so that the script's r/100.0
    makes it +1 or -1."""

    def __init__(self, length=3, seed=0):
        self.task = CueTask(1, length, seed)

    def observe(self):
        shown = self.task.showing()[0]
        return np.array([shown == 0, shown == 1, 0, 0], dtype=np.float64)

    def reset(self):
        self.task.reset()
        return self.observe()

    def step(self, action):
        reward, done, _ = self.task.step([action])
        return self.observe(), 100.0 * float(reward[0]), bool(done[0]), {}

    def close(self):
        pass


def ppo_lstm_main(episodes, print_interval=20):
    """main() as written (# differs: the made-up environment for gym.make('CartPole-v1'); `episodes` for the 10000
    in range; each episode's score kept for the test); returns the model and the scores."""
    env = CuePole()
    model = PPOLSTM()
    score = 0.0
    scores = []

    for n_epi in range(episodes):
        h_out = (torch.zeros([1, 1, 32], dtype=torch.float), torch.zeros([1, 1, 32], dtype=torch.float))
        s = env.reset()
        done = False
        episode_score = 0.0  # differs: kept for the test

        while not done:
            for t in range(T_horizon):
                h_in = h_out
                prob, h_out = model.pi(torch.from_numpy(s).float(), h_in)
                prob = prob.view(-1)
                m = Categorical(prob)
                a = m.sample().item()
                s_prime, r, done, info = env.step(a)

                model.put_data((s, a, r / 100.0, s_prime, prob[a].item(), h_in, h_out, done))
                s = s_prime

                score += r
                episode_score += r  # differs: kept for the test
                if done:
                    break

            model.train_net()

        scores.append(episode_score)  # differs: kept for the test
        if n_epi % print_interval == 0 and n_epi != 0:
            print("# of episode :{}, avg score : {:.1f}".format(n_epi, score / print_interval))
            score = 0.0

    env.close()
    return model, np.array(scores)


# ---- 4. numpy references ------------------------------------------------------------------------------------

def np_ppo_lstm(p, x, h, c):
    """pi and v's shared trunk: ReLU(fc1), the LSTM over the T rows as T steps of a batch of one from (h, c);
    softmax(fc_pi) and fc_v of each step's h."""
    x = np.maximum(x @ p["fc1.weight"].T + p["fc1.bias"], 0)
    outs = []
    for t in range(len(x)):
        h, c = np_lstm_cell(x[t:t + 1], h, c, p["lstm.weight_ih_l0"], p["lstm.weight_hh_l0"], p["lstm.bias_ih_l0"],
                            p["lstm.bias_hh_l0"])
        outs.append(h[0])
    out = np.stack(outs)
    logits = out @ p["fc_pi.weight"].T + p["fc_pi.bias"]
    prob = np.exp(logits - logits.max(1, keepdims=True))
    return prob / prob.sum(1, keepdims=True), (out @ p["fc_v.weight"].T + p["fc_v.bias"])[:, 0], (h, c)


def np_train_net_loss(p, d, advantage=None, td_target=None):
    """One epoch of train_net's loss: GAE advantages of the TD errors (gamma * lmbda), the clipped surrogate on
    pi(a) / prob_a, plus the smooth L1 (beta 1) of v(s) to the TD target; `advantage` and `td_target` given: held
    fixed (the script takes them through numpy and `.detach()`)."""
    (h1, c1), (h2, c2) = d["first"], d["second"]
    prob, v_s, _ = np_ppo_lstm(p, d["s"], h1, c1)
    if advantage is None:
        _, v_prime, _ = np_ppo_lstm(p, d["s_prime"], h2, c2)
        td_target = d["r"] + gamma * v_prime * d["done_mask"]
        advantage, running = np.zeros(len(td_target)), 0.0
        for t in reversed(range(len(td_target))):
            running = gamma * lmbda * running + (td_target - v_s)[t]
            advantage[t] = running
    ratio = prob[np.arange(len(prob)), d["a"]] / d["prob_a"]
    surrogate = np.minimum(ratio * advantage, np.clip(ratio, 1 - eps_clip, 1 + eps_clip) * advantage)
    diff = np.abs(v_s - td_target)
    smooth_l1 = np.where(diff < 1, 0.5 * diff ** 2, diff - 0.5).mean()
    return (-surrogate).mean() + smooth_l1, advantage, td_target


# ---- 4. tests -----------------------------------------------------------------------------------------------

def test_ppo_lstm_pi_and_v_are_numpys(float64):
    """pi and v on T rows: `x.view(-1, 1, 64)` makes them T steps of a batch of one for the sequence-first LSTM, so
    the state runs through the chunk; pi's softmax over dim 2 and v's (T, 1, 1) values, and the state handed on."""
    model = PPOLSTM()
    rng = np.random.default_rng(11)
    x, h, c = rng.standard_normal((5, 4)), rng.standard_normal((1, 32)), rng.standard_normal((1, 32))
    prob, (hn, cn) = model.pi(torch.tensor(x), (torch.tensor(h[None]), torch.tensor(c[None])))
    v = model.v(torch.tensor(x), (torch.tensor(h[None]), torch.tensor(c[None])))
    np_prob, np_v, (np_h, np_c) = np_ppo_lstm(params_of(model), x, h, c)
    assert prob.shape == (5, 1, 2) and v.shape == (5, 1, 1) and hn.shape == (1, 1, 32)
    np.testing.assert_allclose(arr(prob)[:, 0], np_prob, rtol=1e-10)
    np.testing.assert_allclose(arr(v)[:, 0, 0], np_v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(hn)[0], np_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(cn)[0], np_c, rtol=1e-10, atol=1e-12)


def test_ppo_lstm_train_net_step_is_minus_the_gradient_of_numpys_loss(monkeypatch):
    """make_batch and one epoch of train_net (the test sets K_epoch to 1 and swaps the model's Adam for SGD(lr=1), so
    the step is minus the gradient) on a made-up chunk of six transitions: the gradient of numpy's loss, the
    advantages and TD target held fixed. float32, as the script's `torch.tensor(s_lst, dtype=torch.float)` makes
    the batch, so the check is to float32's precision."""
    monkeypatch.setitem(globals(), "K_epoch", 1)
    model = PPOLSTM()
    rng = np.random.default_rng(12)
    T = 6
    s, s_prime = rng.standard_normal((T, 4)), rng.standard_normal((T, 4))
    a, r = rng.integers(0, 2, T), rng.standard_normal(T)
    done = [False] * (T - 1) + [True]
    first, second = (0.5 * rng.standard_normal((2, 1, 32)) for _ in range(2))
    p = {n: v.astype(np.float64) for n, v in params_of(model).items()}
    prob, _, _ = np_ppo_lstm(p, s.astype(np.float32), first[0], first[1])
    prob_a = prob[np.arange(T), a] * np.exp([0.3, -0.02, 0.05, -0.25, 0.01, 0.2])
    states = [(torch.tensor(first[0][None], dtype=torch.float), torch.tensor(first[1][None], dtype=torch.float))] + \
        [(torch.tensor(second[0][None], dtype=torch.float), torch.tensor(second[1][None], dtype=torch.float))] * T
    for t in range(T):
        model.put_data((s[t], int(a[t]), float(r[t]), s_prime[t], float(prob_a[t]), states[t], states[t + 1], done[t]))
    batch = model.make_batch()
    assert [b.dtype for b in batch[:6]] == [torch.float32, torch.int64, torch.float32, torch.float32, torch.float32,
                                            torch.float32]
    assert batch[1].shape == (T, 1) and batch[4].tolist() == [[1.0]] * (T - 1) + [[0.0]] and model.data == []
    for t in range(T):
        model.put_data((s[t], int(a[t]), float(r[t]), s_prime[t], float(prob_a[t]), states[t], states[t + 1], done[t]))
    model.optimizer = optim.SGD(model.parameters(), lr=1.0)
    d = dict(s=s.astype(np.float32).astype(np.float64), s_prime=s_prime.astype(np.float32).astype(np.float64), a=a,
             r=r.astype(np.float32), done_mask=np.array([1.0] * (T - 1) + [0.0]),
             prob_a=prob_a.astype(np.float32).astype(np.float64), first=(first[0], first[1]),
             second=(second[0], second[1]))
    d["first"] = tuple(v.astype(np.float32).astype(np.float64) for v in d["first"])
    d["second"] = tuple(v.astype(np.float32).astype(np.float64) for v in d["second"])
    _, advantage, td_target = np_train_net_loss(p, d)
    model.train_net()
    after = params_of(model)
    for k, name in enumerate(["fc1.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "fc_pi.weight", "fc_v.bias"]):
        idx = some_indices(p[name].shape, 3, 40 + k)
        np.testing.assert_allclose(
            [p[name][i] - after[name][i] for i in idx],
            central(lambda v, name=name: np_train_net_loss({**p, name: v}, d, advantage, td_target)[0], p[name], idx),
            rtol=2e-3, atol=2e-6, err_msg=name)


def test_ppo_lstm_training_learns_to_remember_the_cue():
    """300 episodes of main() as written (chunks of up to T_horizon steps, each trained K_epoch times from its first
    stored state, `backward(retain_graph=True)`), the rollout's states kept with their history as the script keeps
    them: the cue is seen two steps before the rewarded action; the mean score rises from near 0 to over +60 (of
    +100; over the first and last quarters of the episodes), and main() prints its averages as written."""
    torch.manual_seed(0)
    (model, scores), printed = quietly(ppo_lstm_main, 300)
    quarter = len(scores) // 4
    assert scores[:quarter].mean() < 30 and scores[-quarter:].mean() > 60
    assert printed.count("# of episode :") == 14 and printed.startswith("# of episode :20, avg score :")

"""PyTorch's `torch.distributions`: `Categorical` (the policy of REINFORCE and actor-critic), `Normal`
(a VAE's latent, a Gaussian policy), `Bernoulli`, `Uniform`, and `kl_divergence` between two of a kind.

    dist = Categorical(logits=policy(state))
    action = dist.sample()                        # from the generator mg.manual_seed seeds
    loss = -(dist.log_prob(action) * reward).sum() # the score-function gradient reaches the policy
    z = Normal(mu, std).rsample()                 # mu + eps * std: the gradient reaches mu and std
"""

from . import constraints, kl
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .kl import kl_divergence, register_kl
from .normal import Normal
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "Uniform", "constraints", "kl", "kl_divergence",
           "register_kl"]

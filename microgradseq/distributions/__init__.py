"""PyTorch's `torch.distributions`: `Categorical` (the policy of REINFORCE and actor-critic), `Normal`
(a VAE's latent, a Gaussian policy), `Bernoulli`, `Uniform`, the continuous families (`Exponential`,
`Laplace`, `Cauchy`, `LogNormal`, `HalfNormal`, `HalfCauchy`, `Gumbel`, `Pareto`, `Weibull`), the
discrete `Geometric` and `OneHotCategorical`, `MultivariateNormal`, the relaxations (`RelaxedBernoulli`,
`RelaxedOneHotCategorical`: Gumbel-softmax), the composites (`Independent`, `MixtureSameFamily`: a
mixture density network's output, `TransformedDistribution` with `transforms`: a flow), and
`kl_divergence` between two of a kind.

    dist = Categorical(logits=policy(state))
    action = dist.sample()                        # from the generator mg.manual_seed seeds
    loss = -(dist.log_prob(action) * reward).sum() # the score-function gradient reaches the policy
    z = Normal(mu, std).rsample()                 # mu + eps * std: the gradient reaches mu and std
"""

from . import constraints, kl, transforms
from .bernoulli import Bernoulli
from .categorical import Categorical
from .compound import Independent, MixtureSameFamily
from .discrete import Geometric, OneHotCategorical
from .distribution import Distribution
from .exponential import Cauchy, Exponential, Laplace
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .relaxed import ExpRelaxedCategorical, LogitRelaxedBernoulli, RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed_distribution import TransformedDistribution
from .transformed_families import Gumbel, HalfCauchy, HalfNormal, LogNormal, Pareto, Weibull
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Cauchy", "Distribution", "ExpRelaxedCategorical", "Exponential", "Geometric",
           "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "Laplace", "LogNormal", "LogitRelaxedBernoulli",
           "MixtureSameFamily", "MultivariateNormal", "Normal", "OneHotCategorical", "Pareto", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "TransformedDistribution", "Uniform", "Weibull", "constraints", "kl",
           "kl_divergence", "register_kl", "transforms"]

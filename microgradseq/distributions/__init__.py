"""PyTorch's `torch.distributions`: `Categorical` (the policy of REINFORCE and actor-critic), `Normal`
(a VAE's latent, a Gaussian policy), `Bernoulli`, `Uniform`, the continuous families (`Exponential`,
`Laplace`, `Cauchy`, `LogNormal`, `HalfNormal`, `HalfCauchy`, `Gumbel`, `Pareto`, `Weibull`), the
discrete `Geometric` and `OneHotCategorical`, `MultivariateNormal`, the relaxations (`RelaxedBernoulli`,
`RelaxedOneHotCategorical`: Gumbel-softmax), the composites (`Independent`, `MixtureSameFamily`: a
mixture density network's output, `TransformedDistribution` with `transforms`: a flow), the gamma
family (`Gamma`, `Chi2`, `StudentT`, `FisherSnedecor`, `Beta`, `Dirichlet`, `Kumaraswamy`, reparameterised
through the Gamma's implicit gradient), the counts (`Poisson`, `Binomial`, `NegativeBinomial`,
`Multinomial`), `ContinuousBernoulli`, `VonMises`, `LowRankMultivariateNormal`, `LogisticNormal`, and
`kl_divergence` between two of a kind.

    dist = Categorical(logits=policy(state))
    action = dist.sample()                        # from the generator mg.manual_seed seeds
    loss = -(dist.log_prob(action) * reward).sum() # the score-function gradient reaches the policy
    z = Normal(mu, std).rsample()                 # mu + eps * std: the gradient reaches mu and std
"""

from . import constraints, kl, transforms
from .bernoulli import Bernoulli
from .beta import Beta, ContinuousBernoulli, Dirichlet, Kumaraswamy
from .categorical import Categorical
from .compound import Independent, MixtureSameFamily
from .counts import Binomial, Multinomial, NegativeBinomial, Poisson
from .discrete import Geometric, OneHotCategorical
from .distribution import Distribution
from .exponential import Cauchy, Exponential, Laplace
from .gamma import Chi2, FisherSnedecor, Gamma, StudentT
from .kl import kl_divergence, register_kl
from .low_rank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .relaxed import ExpRelaxedCategorical, LogitRelaxedBernoulli, RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed_distribution import TransformedDistribution
from .transformed_families import Gumbel, HalfCauchy, HalfNormal, LogisticNormal, LogNormal, Pareto, Weibull
from .transforms import (AbsTransform, AffineTransform, ComposeTransform, ExpTransform, PowerTransform,
                         SigmoidTransform, StickBreakingTransform, TanhTransform, Transform)
from .uniform import Uniform
from .von_mises import VonMises

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ContinuousBernoulli", "Dirichlet",
           "Distribution", "ExpRelaxedCategorical", "Exponential", "FisherSnedecor", "Gamma", "Geometric", "Gumbel",
           "HalfCauchy", "HalfNormal", "Independent", "Kumaraswamy", "Laplace", "LogNormal", "LogisticNormal",
           "LogitRelaxedBernoulli", "LowRankMultivariateNormal", "MixtureSameFamily", "Multinomial",
           "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical", "Pareto", "Poisson",
           "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT", "TransformedDistribution", "Uniform",
           "VonMises", "Weibull", "constraints", "kl", "kl_divergence", "register_kl", "transforms",
           # the transforms, as PyTorch's torch.distributions names them too (`from .transforms import *`)
           "AbsTransform", "AffineTransform", "ComposeTransform", "ExpTransform", "PowerTransform",
           "SigmoidTransform", "StickBreakingTransform", "TanhTransform", "Transform"]

"""The Gamma family, PyTorch's (torch/distributions/gamma.py, chi2.py, studentT.py, fishersnedecor.py):

    Gamma(concentration, rate)     p(x) = r^a x^(a - 1) e^(-r x) / Gamma(a),   x > 0
    Chi2(df)                       Gamma(df / 2, 1 / 2)
    StudentT(df, loc, scale)       loc + scale N / sqrt(V / df),  N ~ N(0, 1), V ~ Chi2(df)
    FisherSnedecor(df1, df2)       (V1 / df1) / (V2 / df2),       V_i ~ Chi2(df_i)

Each `rsample` goes through `standard_gamma`, whose draws carry PyTorch's implicit reparameterisation
gradient dx/dalpha, so a loss of the draws sends gradients to every parameter.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..creation import as_tensor
from ..ops.elementwise import where
from ..ops.gamma_functions import digamma, lgamma
from ..ops.gamma_sampling import standard_gamma
from ..ops.more_elementwise import xlogy
from ..tensor import Tensor, owned
from . import constraints
from .distribution import Distribution, broadcast_all, draw


class Gamma(Distribution):
    """Gamma(a, r), a the `concentration` and r the `rate`: mean a / r, variance a / r^2, mode (a - 1) / r
    clamped at 0; `rsample` is standard_gamma(a) / r; log_prob a log r + (a - 1) log x - r x - lgamma(a);
    entropy a - log r + lgamma(a) + (1 - a) digamma(a)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(type(self).__name__, concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """a / r."""
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        """max((a - 1) / r, 0)."""
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        """a / r^2."""
        return self.concentration / self.rate ** 2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """standard_gamma(a) / r of shape sample_shape + batch_shape: d/da through the implicit gradient."""
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(*shape), draw()) / self.rate.expand(*shape)
        tiny = np.finfo(value.dtype).tiny        # (PyTorch's value.detach().clamp_(min=tiny): the gradient unchanged)
        return value + owned(np.maximum(value._data, tiny) - value._data)

    def log_prob(self, value: Any) -> Tensor:
        """a log r + (a - 1) log x - r x - lgamma(a) (xlogy: 0 log 0 = 0). A number is taken as a tensor in the
        rate's dtype first, as PyTorch's `torch.as_tensor(value, dtype=self.rate.dtype)`."""
        if not isinstance(value, Tensor):
            value = as_tensor(value, dtype=self.rate.dtype)
        if self._validate_args:
            self._validate_sample(value)
        a, r = self.concentration, self.rate
        return xlogy(a, r) + xlogy(a - 1, value) - r * value - lgamma(a)

    def entropy(self) -> Tensor:
        """a - log r + lgamma(a) + (1 - a) digamma(a)."""
        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1.0 - a) * digamma(a)


class Chi2(Gamma):
    """Gamma(df / 2, 1 / 2): the sum of df squared standard normals."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: bool | None = None) -> None:
        (df,) = broadcast_all("Chi2", df)
        super().__init__(0.5 * df, df * 0.0 + 0.5, validate_args=validate_args)

    @property
    def df(self) -> Tensor:
        """2 concentration."""
        return self.concentration * 2

    def _check_parameters(self, parameters: dict) -> None:
        super()._check_parameters({"df": self.df} if "concentration" in parameters else parameters)

    def __repr__(self) -> str:
        return f"Chi2(df: {self.df if self.df.numel() == 1 else self.df.shape})"


class StudentT(Distribution):
    """Student's t with `df` degrees of freedom, shifted by `loc` and scaled by `scale`: mean loc (NaN for
    df <= 1), mode loc, variance scale^2 df / (df - 2) (inf for 1 < df <= 2, NaN for df <= 1); `rsample`
    is loc + scale N / sqrt(V / df) with V ~ Chi2(df) through standard_gamma."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all("StudentT", df, loc, scale)
        self._chi2 = Chi2(self.df, validate_args=False)
        super().__init__(self.df.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        """loc, NaN where df <= 1."""
        return self.loc.masked_fill(self.df._data <= 1, math.nan)

    @property
    def mode(self) -> Tensor:
        """loc."""
        return self.loc

    @property
    def variance(self) -> Tensor:
        """scale^2 df / (df - 2) for df > 2, inf for 1 < df <= 2, NaN for df <= 1."""
        df = self.df._data
        safe_df = where(df > 2, self.df, 3.0)
        variance = self.scale ** 2 * safe_df / (safe_df - 2)
        return variance.masked_fill((df > 1) & (df <= 2), math.inf).masked_fill(df <= 1, math.nan)

    def expand(self, batch_shape: Any) -> "StudentT":
        """The parameters and the inner Chi2 expanded to `batch_shape`."""
        new = super().expand(batch_shape)
        new._chi2 = self._chi2.expand(batch_shape)
        return new

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """loc + scale X / sqrt(Z / df), X ~ N(0, 1), Z ~ Chi2(df)."""
        shape = self._extended_shape(sample_shape)
        X = owned(draw().standard_normal(shape).astype(self.df.dtype))
        Z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * (X * (Z / self.df).rsqrt())

    def log_prob(self, value: Any) -> Tensor:
        """-(df + 1) / 2 log(1 + y^2 / df) - log scale - log(df pi) / 2 - lgamma(df / 2) + lgamma((df + 1) / 2),
        y = (value - loc) / scale."""
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        Z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi) + lgamma(0.5 * self.df)
             - lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * (y ** 2 / self.df).log1p() - Z

    def entropy(self) -> Tensor:
        """log scale + (df + 1) / 2 (digamma((df + 1) / 2) - digamma(df / 2)) + log(df) / 2 + log B(df / 2, 1 / 2)."""
        lbeta = lgamma(0.5 * self.df) + math.lgamma(0.5) - lgamma(0.5 * (self.df + 1))
        return (self.scale.log() + 0.5 * (self.df + 1) * (digamma(0.5 * (self.df + 1)) - digamma(0.5 * self.df))
                + 0.5 * self.df.log() + lbeta)


class FisherSnedecor(Distribution):
    """F(df1, df2): mean df2 / (df2 - 2) (NaN for df2 <= 2), mode (df1 - 2) / df1 df2 / (df2 + 2) (NaN for
    df1 <= 2), variance 2 df2^2 (df1 + df2 - 2) / (df1 (df2 - 2)^2 (df2 - 4)) (NaN for df2 <= 4); `rsample`
    is X1 / X2 with X_i ~ Gamma(df_i / 2, df_i) through standard_gamma."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1: Any, df2: Any, validate_args: bool | None = None) -> None:
        self.df1, self.df2 = broadcast_all("FisherSnedecor", df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        super().__init__(self.df1.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any) -> "FisherSnedecor":
        """The parameters and the inner Gammas expanded to `batch_shape`."""
        new = super().expand(batch_shape)
        new._gamma1, new._gamma2 = self._gamma1.expand(batch_shape), self._gamma2.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        """df2 / (df2 - 2), NaN where df2 <= 2."""
        df2 = self.df2.masked_fill(self.df2._data <= 2, math.nan)
        return df2 / (df2 - 2)

    @property
    def mode(self) -> Tensor:
        """(df1 - 2) / df1 * df2 / (df2 + 2), NaN where df1 <= 2."""
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return mode.masked_fill(self.df1._data <= 2, math.nan)

    @property
    def variance(self) -> Tensor:
        """2 df2^2 (df1 + df2 - 2) / (df1 (df2 - 2)^2 (df2 - 4)), NaN where df2 <= 4."""
        df2 = self.df2.masked_fill(self.df2._data <= 4, math.nan)
        return 2 * df2 ** 2 * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2) ** 2 * (df2 - 4))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """X1 / X2, X_i ~ Gamma(df_i / 2, df_i) (so X_i = V_i / (2 df_i), V_i ~ Chi2(df_i)), at least tiny."""
        ratio = self._gamma1.rsample(sample_shape) / self._gamma2.rsample(sample_shape)
        tiny = float(np.finfo(ratio.dtype).tiny)
        return where(ratio._data < tiny, tiny, ratio)

    def log_prob(self, value: Any) -> Tensor:
        """lgamma((d1 + d2) / 2) - lgamma(d1 / 2) - lgamma(d2 / 2) + d1 / 2 log(d1 / d2) + (d1 / 2 - 1) log x
        - (d1 + d2) / 2 log(1 + d1 x / d2)."""
        if self._validate_args:
            self._validate_sample(value)
        ct1, ct2, ct3 = self.df1 * 0.5, self.df2 * 0.5, self.df1 / self.df2
        t1 = lgamma(ct1 + ct2) - lgamma(ct1) - lgamma(ct2)
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3

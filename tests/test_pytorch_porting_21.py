"""Porting, round 21: the first scripts a PyTorch course shows, and the recurrent chapters of a textbook. Each
script is written as its author wrote it, with only its imports changed (`# differs:` marks each other change and
why):

1. pytorch/tutorials "Learning PyTorch with Examples" (Justin Johnson), the third-order polynomial fitted to
   sin(x) on [-pi, pi] seven ways: beginner_source/examples_tensor/polynomial_numpy.py (at 06782c92, the numpy
   reference the others are checked against), polynomial_tensor.py (at 4fe88118: gradients by hand, `a -= lr *
   grad_a` on tensors), examples_autograd/polynomial_autograd.py (at 92f11a17: `torch.set_default_device`,
   `loss.backward()`, updates under `torch.no_grad()`, `a.grad = None`), polynomial_custom_function.py (at
   02ed6c5c: `LegendrePolynomial3(torch.autograd.Function)` with `ctx.save_for_backward`, `ctx.saved_tensors`,
   `.apply`, `torch.full((), ..., requires_grad=True)`), examples_nn/polynomial_nn.py (at 90fb0068: `x.unsqueeze(-1)
   .pow(torch.tensor([1, 2, 3]))`, `nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))`, `MSELoss(reduction='sum')`,
   `model.zero_grad()`, `param -= lr * param.grad`, `model[0]`, `weight[:, 0].item()`), polynomial_optim.py (at
   96efa19f: `torch.optim.RMSprop`), polynomial_module.py (at c53e7d4e: `nn.Parameter(torch.randn(()))` in a
   Module) and dynamic_net.py (the current revision, the polynomial with a random number of x^4, x^5 terms sharing
   one weight; SGD with momentum; the index holds only its 2017 revision with Variable, so it is written from the
   tutorial's page).
2. pytorch/tutorials beginner_source/nlp (Robert Guthrie's "Deep Learning for NLP with PyTorch"):
   pytorch_tutorial.py (at cb7cc08c: tensors, `torch.cat`, `view`, `grad_fn`, `requires_grad_()`, `detach`,
   `no_grad`), deep_learning_tutorial.py (at 016d0cc0: `autograd.Variable`, the bag-of-words logistic regression
   `BoWClassifier` with `F.log_softmax`, `nn.NLLLoss`, `torch.LongTensor`, SGD) and word_embeddings_tutorial.py (at
   537d2173: `nn.Embedding`, the trigram `NGramLanguageModeler` on Shakespeare's Sonnet 2, and the CBOW exercise's
   data preparation).
3. d2l-ai/d2l-en (Dive into Deep Learning 1.0, PyTorch tab), the recurrent chapters: text-sequence.md and
   language-model.md (`TimeMachine`: its `_preprocess`, `_tokenize`, `build`, `__init__` and `get_dataloader`; the
   text is made up here), rnn-scratch.md (`RNNScratch`, `check_len`/`check_shape`, `RNNLMScratch` with `one_hot`
   (`F.one_hot(X.T, ...).type(torch.float32)`), `output_layer`, `forward`, perplexity by `torch.exp(l)`,
   `Trainer.clip_gradients`, `predict`), rnn-concise.md (`RNN` over `nn.RNN`, `RNNLM` with `nn.LazyLinear` and
   `.swapaxes(0, 1)`), gru.md (`GRUScratch`, `GRU` over `nn.GRU`) and lstm.md (`LSTMScratch`, `LSTM` over
   `nn.LSTM`), on round 11's copy of d2l/torch.py (its `Module`, `Classifier`, `Trainer`, `Vocab`).
4. caogang/wgan-gp gan_toy.py (at 081b0f3d): the `Discriminator` and `calc_gradient_penalty`, the gradient penalty
   of WGAN-GP by `autograd.grad(..., grad_outputs=torch.ones(...), create_graph=True, retain_graph=True,
   only_inputs=True)` and `gradients.norm(2, dim=1)`.

What broke, and what was fixed (pinned by a test at the end of this file):

  G1  `Tensor.swapaxes` (d2l's `RNNLM.output_layer`: `self.linear(hiddens).swapaxes(0, 1)`) and its alias
      `Tensor.swapdims` did not exist; now they do (ops/methods.py), a transpose of two axes, and
      `torch.swapaxes` / `torch.swapdims` as functions.
  G2  `x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))` (polynomial_nn.py, polynomial_optim.py) was float64 for a
      float32 x, float32 in PyTorch, so `nn.Linear(3, 1)` refused it: two tensors of different kinds promoted
      as numpy's arrays do. Now an integer or bool tensor next to a floating one takes the floating dtype, as
      PyTorch's (ops/elementwise.py's `operands`).

Met and left as documented (the lines say `differs:`):

  - `autograd.grad(..., create_graph=True)` (WGAN-GP's penalty needs a gradient of a gradient) raises
    NotImplementedError naming create_graph and what to do; the penalty's first-order part, `gradients`, ports
    (`calc_gradient_penalty` takes create_graph as a marked parameter).
  - d2l's `param.grad[:] *= ...` in clip_gradients is round 11's documented difference (a gradient is a
    read-only numpy array); printing (`op=...` for `grad_fn=<...>`, `Node(...)` for a grad_fn, elision past 20
    entries, a numpy array for `x.grad`) is the documented text.

Compared with PyTorch 2.13 (a scratch script, not a test: each script run on both with the same initial weights,
random draws and data order): 130,176 float32 values (printed losses, parameters, gradients, logits) agree to
3.3e-3 at worst (polynomial_tensor's printed sums of squares, of size 1e3: float32 rounding). The 2,033 of
polynomial_optim do not: RMSprop's steps near the minimum are about lr in size, with a sign that rounding decides,
so both runs agree to 1e-12 in float64 for 1,300 steps and then hover apart about the least-squares cubic (test
`test_polynomial_optim_rmsprop_reaches_the_least_squares_floor`). 47,606 float64 values (every script but d2l's,
whose one_hot is float32 by its own hand, and RMSprop's) agree to 2.1e-12.

Expected values come from numpy written here (the tutorial's own polynomial_numpy.py, replays of each update
rule, the bag-of-words and trigram models' forward and backward passes, RNN/GRU/LSTM steps, the discriminator's
input gradient), least squares, central differences, and the scripts' own tasks; never from the library itself or
from PyTorch at test time.
"""

import math
import random
import re

import numpy as np
import pytest
from test_pytorch_porting_11 import d2l_torch_py, load_module

import microgradseq as torch
import microgradseq.autograd as autograd
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim


# ---- 1. Learning PyTorch with Examples: the polynomial, seven ways ----------------------------------------------

def polynomial_numpy(a, b, c, d, steps=2000, learning_rate=1e-6, dtype=np.float64):
    """beginner_source/examples_tensor/polynomial_numpy.py, the tutorial's own numpy version (its random init
    is the caller's a, b, c, d here, so the ports can start where it starts); returns the printed losses and
    the final weights."""
    x = np.linspace(-math.pi, math.pi, 2000).astype(dtype)
    y = np.sin(x)
    a, b, c, d = (dtype(v) for v in (a, b, c, d))
    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = np.square(y_pred - y).sum()
        if t % 100 == 99:
            losses.append(loss)
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    return losses, np.array([a, b, c, d], dtype=np.float64)


def printed_numbers(text):
    """The second number of each `t loss` line the scripts print."""
    return [float(line.split()[1]) for line in text.splitlines() if re.fullmatch(r"\d+ \S+", line)]


def least_squares_floor():
    """The smallest sum of squares any cubic reaches on the tutorial's grid: numpy's lstsq."""
    x = np.linspace(-math.pi, math.pi, 2000)
    A = np.stack([np.ones_like(x), x, x ** 2, x ** 3], axis=1)
    coefficients, residual, _, _ = np.linalg.lstsq(A, np.sin(x), rcond=None)
    return coefficients, float(residual[0])


def polynomial_tensor():
    # beginner_source/examples_tensor/polynomial_tensor.py (at 4fe88118795089fb1d5d4b1e91834ea6e31f67e4)
    dtype = torch.float
    device = torch.device("cpu")
    # device = torch.device("cuda:0") # Uncomment this to run on GPU

    # Create random input and output data
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    # Randomly initialize weights
    a = torch.randn((), device=device, dtype=dtype)
    b = torch.randn((), device=device, dtype=dtype)
    c = torch.randn((), device=device, dtype=dtype)
    d = torch.randn((), device=device, dtype=dtype)

    learning_rate = 1e-6
    for t in range(2000):
        # Forward pass: compute predicted y
        y_pred = a + b * x + c * x ** 2 + d * x ** 3

        # Compute and print loss
        loss = (y_pred - y).pow(2).sum().item()
        if t % 100 == 99:
            print(t, loss)

        # Backprop to compute gradients of a, b, c, d with respect to loss
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()

        # Update weights using gradient descent
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d

    print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
    return locals()


def polynomial_autograd():
    # beginner_source/examples_autograd/polynomial_autograd.py (at 92f11a171bb3f3f6bbd8dfb102c59d67c2385032)
    dtype = torch.float
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_default_device(device)

    # Create Tensors to hold input and outputs.
    # By default, requires_grad=False, which indicates that we do not need to
    # compute gradients with respect to these Tensors during the backward pass.
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)

    # Create random Tensors for weights. For a third order polynomial, we need
    # 4 weights: y = a + b x + c x^2 + d x^3
    # Setting requires_grad=True indicates that we want to compute gradients with
    # respect to these Tensors during the backward pass.
    a = torch.randn((), dtype=dtype, requires_grad=True)
    b = torch.randn((), dtype=dtype, requires_grad=True)
    c = torch.randn((), dtype=dtype, requires_grad=True)
    d = torch.randn((), dtype=dtype, requires_grad=True)

    learning_rate = 1e-6
    for t in range(2000):
        # Forward pass: compute predicted y using operations on Tensors.
        y_pred = a + b * x + c * x ** 2 + d * x ** 3

        # Compute and print loss using operations on Tensors.
        # Now loss is a Tensor of shape (1,)
        # loss.item() gets the scalar value held in the loss.
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            print(t, loss.item())

        # Use autograd to compute the backward pass. This call will compute the
        # gradient of loss with respect to all Tensors with requires_grad=True.
        # After this call a.grad, b.grad. c.grad and d.grad will be Tensors holding
        # the gradient of the loss with respect to a, b, c, d respectively.
        loss.backward()

        # Manually update weights using gradient descent. Wrap in torch.no_grad()
        # because weights have requires_grad=True, but we don't need to track this
        # in autograd.
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            # Manually zero the gradients after updating weights
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

    print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')
    return locals()


class LegendrePolynomial3(torch.autograd.Function):
    # beginner_source/examples_autograd/polynomial_custom_function.py (at 02ed6c5cf613bbf2b631704eee62033b8bd746ef)
    """
    We can implement our own custom autograd Functions by subclassing
    torch.autograd.Function and implementing the forward and backward passes
    which operate on Tensors.
    """

    @staticmethod
    def forward(ctx, input):
        """
        In the forward pass we receive a Tensor containing the input and return
        a Tensor containing the output. ctx is a context object that can be used
        to stash information for backward computation. You can cache arbitrary
        objects for use in the backward pass using the ctx.save_for_backward method.
        """
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        """
        In the backward pass we receive a Tensor containing the gradient of the loss
        with respect to the output, and we need to compute the gradient of the loss
        with respect to the input.
        """
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def polynomial_custom_function():
    # (the module body of polynomial_custom_function.py, after the class)
    dtype = torch.float
    device = torch.device("cpu")
    # device = torch.device("cuda:0")  # Uncomment this to run on GPU

    # Create Tensors to hold input and outputs.
    # Setting requires_grad=False indicates that we do not need to compute gradients
    # with respect to these Tensors during the backward pass.
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    # Create random Tensors for weights. For this example, we need
    # 4 weights: y = a + b * P3(c + d * x), these weights need to be initialized
    # not too far from the correct result to ensure convergence.
    # Setting requires_grad=True indicates that we want to compute gradients with
    # respect to these Tensors during the backward pass.
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 5e-6
    for t in range(2000):
        # To apply our Function, we use Function.apply method. We alias this as 'P3'.
        P3 = LegendrePolynomial3.apply

        # Forward pass: compute predicted y using operations; we compute
        # P3 using our custom autograd operation.
        y_pred = a + b * P3(c + d * x)

        # Compute and print loss
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            print(t, loss.item())

        # Use autograd to compute the backward pass.
        loss.backward()

        # Update weights using gradient descent
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            # Manually zero the gradients after updating weights
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

    print(f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)')
    return locals()


def polynomial_nn():
    # beginner_source/examples_nn/polynomial_nn.py (at 90fb0068a1941e996b100fd9b4e05dbaa497076e)

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # For this example, the output y is a linear function of (x, x^2, x^3), so
    # we can consider it as a linear layer neural network. Let's prepare the
    # tensor (x, x^2, x^3).
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)

    # In the above code, x.unsqueeze(-1) has shape (2000, 1), and p has shape
    # (3,), for this case, broadcasting semantics will apply to obtain a tensor
    # of shape (2000, 3)

    # Use the nn package to define our model as a sequence of layers. nn.Sequential
    # is a Module which contains other Modules, and applies them in sequence to
    # produce its output. The Linear Module computes output from input using a
    # linear function, and holds internal Tensors for its weight and bias.
    # The Flatten layer flatens the output of the linear layer to a 1D tensor,
    # to match the shape of `y`.
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 1),
        torch.nn.Flatten(0, 1)
    )

    # The nn package also contains definitions of popular loss functions; in this
    # case we will use Mean Squared Error (MSE) as our loss function.
    loss_fn = torch.nn.MSELoss(reduction='sum')

    learning_rate = 1e-6
    for t in range(2000):

        # Forward pass: compute predicted y by passing x to the model. Module objects
        # override the __call__ operator so you can call them like functions. When
        # doing so you pass a Tensor of input data to the Module and it produces
        # a Tensor of output data.
        y_pred = model(xx)

        # Compute and print loss. We pass Tensors containing the predicted and true
        # values of y, and the loss function returns a Tensor containing the
        # loss.
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())

        # Zero the gradients before running the backward pass.
        model.zero_grad()

        # Backward pass: compute gradient of the loss with respect to all the learnable
        # parameters of the model. Internally, the parameters of each Module are stored
        # in Tensors with requires_grad=True, so this call will compute gradients for
        # all learnable parameters in the model.
        loss.backward()

        # Update the weights using gradient descent. Each parameter is a Tensor, so
        # we can access its gradients like we did before.
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad

    # You can access the first layer of `model` like accessing the first item of a list
    linear_layer = model[0]

    # For linear layer, its parameters are stored as `weight` and `bias`.
    print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
    return locals()


def polynomial_optim():
    # beginner_source/examples_nn/polynomial_optim.py (at 96efa19f4e1be1b64c5474c1f3ae18a47d98aa90)

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # Prepare the input tensor (x, x^2, x^3).
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)

    # Use the nn package to define our model and loss function.
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 1),
        torch.nn.Flatten(0, 1)
    )
    loss_fn = torch.nn.MSELoss(reduction='sum')

    # Use the optim package to define an Optimizer that will update the weights of
    # the model for us. Here we will use RMSprop; the optim package contains many other
    # optimization algorithms. The first argument to the RMSprop constructor tells the
    # optimizer which Tensors it should update.
    learning_rate = 1e-3
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
    for t in range(2000):
        # Forward pass: compute predicted y by passing x to the model.
        y_pred = model(xx)

        # Compute and print loss.
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())

        # Before the backward pass, use the optimizer object to zero all of the
        # gradients for the variables it will update (which are the learnable
        # weights of the model). This is because by default, gradients are
        # accumulated in buffers( i.e, not overwritten) whenever .backward()
        # is called. Checkout docs of torch.autograd.backward for more details.
        optimizer.zero_grad()

        # Backward pass: compute gradient of the loss with respect to model
        # parameters
        loss.backward()

        # Calling the step function on an Optimizer makes an update to its
        # parameters
        optimizer.step()

    linear_layer = model[0]
    print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')
    return locals()


class Polynomial3(torch.nn.Module):
    # beginner_source/examples_nn/polynomial_module.py (at c53e7d4efc0e39e455c531d21ec7db28ba220214)
    def __init__(self):
        """
        In the constructor we instantiate four parameters and assign them as
        member parameters.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """
        In the forward function we accept a Tensor of input data and we must return
        a Tensor of output data. We can use Modules defined in the constructor as
        well as arbitrary operators on Tensors.
        """
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        """
        Just like any class in Python, you can also define custom method on PyTorch modules
        """
        return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3'


def polynomial_module():
    # (the module body of polynomial_module.py, after the class)
    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # Construct our model by instantiating the class defined above
    model = Polynomial3()

    # Construct our loss function and an Optimizer. The call to model.parameters()
    # in the SGD constructor will contain the learnable parameters (defined
    # with torch.nn.Parameter) which are members of the model.
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    for t in range(2000):
        # Forward pass: Compute predicted y by passing x to the model
        y_pred = model(x)

        # Compute and print loss
        loss = criterion(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())

        # Zero gradients, perform a backward pass, and update the weights.
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    print(f'Result: {model.string()}')
    return locals()


class DynamicNet(torch.nn.Module):
    # beginner_source/examples_nn/dynamic_net.py (the current revision)
    def __init__(self):
        """
        In the constructor we instantiate five parameters and assign them as members.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """
        For the forward pass of the model, we randomly choose either 4, 5
        and reuse the e parameter to compute the contribution of these orders.

        Since each forward pass builds a dynamic computation graph, we can use normal
        Python control-flow operators like loops or conditional statements when
        defining the forward pass of the model.

        Here we also see that it is perfectly safe to reuse the same parameter many
        times when defining a computational graph.
        """
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        """
        Just like any class in Python, you can also define custom method on PyTorch modules
        """
        return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?'


def dynamic_net(steps=3000):
    # (the module body of dynamic_net.py, after the class)
    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # Construct our model by instantiating the class defined above
    model = DynamicNet()

    # Construct our loss function and an Optimizer. Training this strange model with
    # vanilla stochastic gradient descent is tough, so we use momentum
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    for t in range(steps):  # differs: 30000 steps there (11 s here); a test takes 3000
        # Forward pass: Compute predicted y by passing x to the model
        y_pred = model(x)

        # Compute and print loss
        loss = criterion(y_pred, y)
        if t % 2000 == 1999:
            print(t, loss.item())

        # Zero gradients, perform a backward pass, and update the weights.
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    print(f'Result: {model.string()}')
    return locals()


def four_draws(seed, count=4):
    """The values `count` calls of torch.randn(()) give after torch.manual_seed(seed): the scripts' inputs."""
    torch.manual_seed(seed)
    return [torch.randn(()).item() for _ in range(count)]


def test_polynomial_tensor_follows_the_tutorials_numpy_version(capsys):
    start = four_draws(0)
    torch.manual_seed(0)
    names = polynomial_tensor()
    losses, weights = polynomial_numpy(*start, dtype=np.float32)
    printed = capsys.readouterr().out
    np.testing.assert_allclose(printed_numbers(printed), losses, rtol=2e-5)
    np.testing.assert_allclose([names[k].item() for k in "abcd"], weights, rtol=2e-5, atol=1e-7)
    assert printed.splitlines()[-1].startswith("Result: y = ")
    assert all(names[k].dtype == np.float32 and names[k].shape == () for k in "abcd")


def test_polynomial_autograd_gives_the_hand_written_gradients(capsys):
    start = four_draws(1)
    torch.manual_seed(1)
    names = polynomial_autograd()
    losses, weights = polynomial_numpy(*start, dtype=np.float32)
    np.testing.assert_allclose(printed_numbers(capsys.readouterr().out), losses, rtol=2e-5)
    np.testing.assert_allclose([names[k].item() for k in "abcd"], weights, rtol=2e-5, atol=1e-7)
    assert all(names[k].grad is None and names[k].requires_grad for k in "abcd")


def legendre_numpy(steps=2000, learning_rate=5e-6):
    """y = a + b P3(c + d x), P3(z) = (5 z^3 - 3 z) / 2, fitted by gradient descent in float64 numpy: the chain
    rule by hand (dL/dz = 2 (y_pred - y) b P3'(z), P3'(z) = 3 (5 z^2 - 1) / 2)."""
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    a, b, c, d = 0.0, -1.0, 0.0, 0.3
    losses = []
    for t in range(steps):
        z = c + d * x
        P3 = 0.5 * (5 * z ** 3 - 3 * z)
        r = 2 * (a + b * P3 - y)
        if t % 100 == 99:
            losses.append(np.sum((r / 2) ** 2))
        gz = r * b * 1.5 * (5 * z ** 2 - 1)
        a, b, c, d = (a - learning_rate * r.sum(), b - learning_rate * (r * P3).sum(),
                      c - learning_rate * gz.sum(), d - learning_rate * (gz * x).sum())
    return losses, np.array([a, b, c, d])


def test_polynomial_custom_function_legendre_matches_the_chain_rule_by_hand(capsys):
    names = polynomial_custom_function()
    losses, weights = legendre_numpy()
    np.testing.assert_allclose(printed_numbers(capsys.readouterr().out), losses, rtol=1e-4)
    np.testing.assert_allclose([names[k].item() for k in "bd"], weights[[1, 3]], rtol=1e-4)
    assert abs(names["a"].item()) < 1e-6 and abs(names["c"].item()) < 1e-6     # (0 in exact arithmetic: sin is odd)


def test_legendre_function_backward_is_its_derivative_by_central_differences():
    z = torch.tensor(np.linspace(-1.2, 1.3, 7), dtype=torch.float64, requires_grad=True)
    weights = np.linspace(0.5, 2.0, 7)
    (LegendrePolynomial3.apply(z) * torch.tensor(weights)).sum().backward()
    P3 = lambda v: 0.5 * (5 * v ** 3 - 3 * v)
    eps = 1e-6
    expected = weights * (P3(z.data + eps) - P3(z.data - eps)) / (2 * eps)
    np.testing.assert_allclose(z.grad, expected, rtol=1e-8)


def linear_start(seed):
    """nn.Linear(3, 1)'s initial weight and bias after torch.manual_seed(seed), as the scripts draw them: bias,
    then the weights of x, x^2, x^3."""
    torch.manual_seed(seed)
    layer = nn.Linear(3, 1)
    return [layer.bias.item(), *layer.weight.data[0].tolist()]


def test_polynomial_nn_trains_the_linear_layer_as_the_numpy_version(capsys):
    start = linear_start(2)
    torch.manual_seed(2)
    names = polynomial_nn()
    assert names["xx"].dtype == np.float32 and names["xx"].shape == (2000, 3)
    losses, weights = polynomial_numpy(*start, dtype=np.float32)
    printed = capsys.readouterr().out
    np.testing.assert_allclose(printed_numbers(printed), losses, rtol=5e-5)
    layer = names["linear_layer"]
    np.testing.assert_allclose([layer.bias.item(), *layer.weight.data[0]], weights, rtol=5e-5, atol=1e-6)
    assert names["y_pred"].shape == (2000,)                                      # (Flatten(0, 1) of (2000, 1))


def rmsprop_numpy(start, steps, lr=1e-3, alpha=0.99, eps=1e-8):
    """RMSprop (torch.optim.RMSprop's defaults) on the sum of squares of a + b x + c x^2 + d x^3 - sin x, in
    float64: v = alpha v + (1 - alpha) g^2, p -= lr g / (sqrt(v) + eps)."""
    x = np.linspace(-math.pi, math.pi, 2000)
    A = np.stack([np.ones_like(x), x, x ** 2, x ** 3], axis=1)
    p, v = np.array(start, dtype=np.float64), np.zeros(4)
    for _ in range(steps):
        g = A.T @ (2 * (A @ p - np.sin(x)))
        v = alpha * v + (1 - alpha) * g * g
        p = p - lr * g / (np.sqrt(v) + eps)
    return p


def test_polynomial_optim_rmsprop_reaches_the_least_squares_floor(capsys):
    """RMSprop's steps near the minimum are about lr in size whatever the gradient, so once there the fit
    hovers about the least-squares cubic (how soon depends on the initial weights): its loss is within 2% of
    the floor (PyTorch's runs end at 8.85 on other initial weights)."""
    torch.manual_seed(7)
    names = polynomial_optim()
    coefficients, floor = least_squares_floor()
    printed = printed_numbers(capsys.readouterr().out)
    assert printed[0] > 4 * floor and floor <= printed[-1] < 1.02 * floor
    layer = names["linear_layer"]
    np.testing.assert_allclose([layer.bias.item(), *layer.weight.data[0]], coefficients, atol=2e-3)


def test_rmsprop_on_the_tutorials_model_follows_its_formula_step_by_step():
    """The first 300 steps of polynomial_optim's loop, in float64 (before the oscillation about the minimum,
    where rounding decides each step's sign), against RMSprop written in numpy."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(3, 1, dtype=torch.float64), nn.Flatten(0, 1))
    start = [model[0].bias.item(), *model[0].weight.data[0]]
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float64)
    xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))     # (float64 with float64: no promotion across kinds)
    optimizer = optim.RMSprop(model.parameters(), lr=1e-3)
    for _ in range(300):
        loss = nn.MSELoss(reduction='sum')(model(xx), torch.sin(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose([model[0].bias.item(), *model[0].weight.data[0]], rmsprop_numpy(start, 300),
                               rtol=1e-10)


def test_polynomial_module_with_sgd_matches_the_numpy_version(capsys):
    start = four_draws(5)
    torch.manual_seed(5)
    names = polynomial_module()
    losses, weights = polynomial_numpy(*start, dtype=np.float32)
    printed = capsys.readouterr().out
    np.testing.assert_allclose(printed_numbers(printed), losses, rtol=5e-5)
    np.testing.assert_allclose([getattr(names["model"], k).item() for k in "abcd"], weights, rtol=5e-5, atol=1e-6)
    assert [name for name, _ in names["model"].named_parameters()] == ["a", "b", "c", "d"]
    assert printed.splitlines()[-1].startswith("Result: y = ")


def dynamic_numpy(start, exponents, lr=1e-8, momentum=0.9):
    """DynamicNet trained by SGD with momentum in float64 numpy: step t adds e x^4 (and e x^5) as exponents[t]
    says (random.randint(4, 6) drew it); buf = momentum buf + g (g alone at a parameter's first step), p -= lr
    buf. A step that drew 4 leaves e out of the graph: its .grad is None (zero_grad sets it so), and SGD passes
    over it, its momentum buffer too, as torch.optim.SGD does."""
    x = np.linspace(-math.pi, math.pi, 2000)
    p, buf, losses = np.array(start, dtype=np.float64), [None] * 5, []
    for t, top in enumerate(exponents):
        features = [np.ones_like(x), x, x ** 2, x ** 3, sum((x ** k for k in range(4, top)), np.zeros_like(x))]
        A = np.stack(features, axis=1)
        r = A @ p - np.sin(x)
        if t % 2000 == 1999:
            losses.append(np.sum(r * r))
        g = A.T @ (2 * r)
        for i in range(5 if top > 4 else 4):
            buf[i] = g[i] if buf[i] is None else momentum * buf[i] + g[i]
            p[i] -= lr * buf[i]
    return losses, p


def test_dynamic_net_shares_e_across_its_random_depth_as_numpy_does(capsys):
    start = four_draws(6, count=5)
    random.seed(6)
    exponents = [random.randint(4, 6) for _ in range(3000)]
    torch.manual_seed(6)
    random.seed(6)
    names = dynamic_net()
    losses, weights = dynamic_numpy(start, exponents)
    printed = capsys.readouterr().out
    np.testing.assert_allclose(printed_numbers(printed), losses, rtol=1e-4)
    np.testing.assert_allclose([getattr(names["model"], k).item() for k in "abcde"], weights, rtol=1e-3, atol=1e-6)
    assert set(exponents) == {4, 5, 6}
    assert (names["model"].e.grad is None) == (exponents[-1] == 4)     # (e out of the last step's graph)


# ---- 2. Deep Learning for NLP with PyTorch (Robert Guthrie) --------------------------------------------------------

def pytorch_tutorial():
    # beginner_source/nlp/pytorch_tutorial.py (at cb7cc08cd2e436ace74fa66ae823382abd39fc6d), its code cells in order
    torch.manual_seed(1)

    # torch.tensor(data) creates a torch.Tensor object with the given data.
    V_data = [1., 2., 3.]
    V = torch.tensor(V_data)
    print(V)

    # Creates a matrix
    M_data = [[1., 2., 3.], [4., 5., 6]]
    M = torch.tensor(M_data)
    print(M)

    # Create a 3D tensor of size 2x2x2.
    T_data = [[[1., 2.], [3., 4.]],
              [[5., 6.], [7., 8.]]]
    T = torch.tensor(T_data)
    print(T)

    # Index into V and get a scalar (0 dimensional tensor)
    print(V[0])
    # Get a Python number from it
    print(V[0].item())

    # Index into M and get a vector
    print(M[0])

    # Index into T and get a matrix
    print(T[0])

    x = torch.randn((3, 4, 5))
    print(x)

    x = torch.tensor([1., 2., 3.])
    y = torch.tensor([4., 5., 6.])
    z = x + y
    print(z)

    # By default, it concatenates along the first axis (concatenates rows)
    x_1 = torch.randn(2, 5)
    y_1 = torch.randn(3, 5)
    z_1 = torch.cat([x_1, y_1])
    print(z_1)

    # Concatenate columns:
    x_2 = torch.randn(2, 3)
    y_2 = torch.randn(2, 5)
    # second arg specifies which axis to concat along
    z_2 = torch.cat([x_2, y_2], 1)
    print(z_2)

    # If your tensors are not compatible, torch will complain.  Uncomment to see the error
    # torch.cat([x_1, x_2])

    x = torch.randn(2, 3, 4)
    print(x)
    print(x.view(2, 12))  # Reshape to 2 rows, 12 columns
    # Same as above.  If one of the dimensions is -1, its size can be inferred
    print(x.view(2, -1))
    x_view = x  # differs: a name kept for the test (the script reuses x below)

    # Tensor factory methods have a ``requires_grad`` flag
    x = torch.tensor([1., 2., 3], requires_grad=True)

    # With requires_grad=True, you can still do all the operations you previously
    # could
    y = torch.tensor([4., 5., 6], requires_grad=True)
    z = x + y
    print(z)

    # BUT z knows something extra.
    print(z.grad_fn)

    # Lets sum up all the entries in z
    s = z.sum()
    print(s)
    print(s.grad_fn)

    # calling .backward() on any variable will run backprop, starting from it.
    s.backward()
    print(x.grad)
    x_grad = x.grad  # differs: kept for the test

    x = torch.randn(2, 2)
    y = torch.randn(2, 2)
    # By default, user created Tensors have ``requires_grad=False``
    print(x.requires_grad, y.requires_grad)
    z = x + y
    # So you can't backprop through z
    print(z.grad_fn)

    # ``.requires_grad_( ... )`` changes an existing Tensor's ``requires_grad``
    # flag in-place. The input flag defaults to ``True`` if not given.
    x = x.requires_grad_()
    y = y.requires_grad_()
    # z contains enough information to compute gradients, as we saw above
    z = x + y
    print(z.grad_fn)
    # If any input to an operation has ``requires_grad=True``, so will the output
    print(z.requires_grad)

    # Now z has the computation history that relates itself to x and y
    # Can we just take its values, and **detach** it from its history?
    new_z = z.detach()

    # ... does new_z have information to backprop to x and y?
    # NO!
    print(new_z.grad_fn)

    print(x.requires_grad)
    print((x ** 2).requires_grad)

    with torch.no_grad():
        print((x ** 2).requires_grad)
    return locals()


def test_pytorch_tutorial_tensors_and_autograd_basics(capsys):
    names = pytorch_tutorial()
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["tensor([1., 2., 3.])", "tensor([[1., 2., 3.],"]
    assert "tensor(1.)" in out and "1.0" in out and "tensor([5., 7., 9.])" in out
    assert names["z_1"].shape == (5, 5) and names["z_2"].shape == (2, 8)
    np.testing.assert_array_equal(names["z_2"].data, np.concatenate([names["x_2"].data, names["y_2"].data], 1))
    np.testing.assert_array_equal(names["x_view"].view(2, -1).data, names["x_view"].data.reshape(2, 12))
    np.testing.assert_array_equal(names["x_grad"], [1.0, 1.0, 1.0])           # ds/dx_i = 1
    assert names["s"].item() == 21.0 and names["s"].grad_fn is not None
    assert names["new_z"].grad_fn is None and not names["new_z"].requires_grad
    assert out[-4:] == ["None", "True", "True", "False"]       # new_z.grad_fn, x.requires_grad, (x**2) in and out


def deep_learning_tutorial():
    # beginner_source/nlp/deep_learning_tutorial.py (at 016d0cc077f60c82b8497d4c7f92051ce40cafee), its code in order
    torch.manual_seed(1)

    lin = nn.Linear(5, 3)  # maps from R^5 to R^3, parameters A, b
    # data is 2x5.  A maps from 5 to 3... can we map "data" under A?
    data = autograd.Variable(torch.randn(2, 5))
    print(lin(data))  # yes

    # In pytorch, most non-linearities are in torch.functional (we have it imported as F)
    # Note that non-linearites typically don't have parameters like affine maps do.
    # That is, they don't have weights that are updated during training.
    data = autograd.Variable(torch.randn(2, 2))
    print(data)
    print(F.relu(data))

    # Softmax is also in torch.nn.functional
    data = autograd.Variable(torch.randn(5))
    print(data)
    print(F.softmax(data, dim=0))
    print(F.softmax(data, dim=0).sum())  # Sums to 1 because it is a distribution!
    print(F.log_softmax(data, dim=0))  # theres also log_softmax
    softmax_input = data  # differs: kept for the test

    data = [("me gusta comer en la cafeteria".split(), "SPANISH"),
            ("Give it to me".split(), "ENGLISH"),
            ("No creo que sea una buena idea".split(), "SPANISH"),
            ("No it is not a good idea to get lost at sea".split(), "ENGLISH")]

    test_data = [("Yo creo que si".split(), "SPANISH"),
                 ("it is lost on me".split(), "ENGLISH")]

    # word_to_ix maps each word in the vocab to a unique integer, which will be its
    # index into the Bag of words vector
    word_to_ix = {}
    for sent, _ in data + test_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    print(word_to_ix)

    VOCAB_SIZE = len(word_to_ix)
    NUM_LABELS = 2

    class BoWClassifier(nn.Module):  # inheriting from nn.Module!

        def __init__(self, num_labels, vocab_size):
            # calls the init function of nn.Module.  Dont get confused by syntax,
            # just always do it in an nn.Module
            super(BoWClassifier, self).__init__()

            # Define the parameters that you will need.  In this case, we need A and b,
            # the parameters of the affine mapping.
            # Torch defines nn.Linear(), which provides the affine map.
            # Make sure you understand why the input dimension is vocab_size
            # and the output is num_labels!
            self.linear = nn.Linear(vocab_size, num_labels)

            # NOTE! The non-linearity log softmax does not have parameters! So we don't need
            # to worry about that here

        def forward(self, bow_vec):
            # Pass the input through the linear layer,
            # then pass that through log_softmax.
            # Many non-linearities and other functions are in torch.nn.functional
            return F.log_softmax(self.linear(bow_vec), dim=1)

    def make_bow_vector(sentence, word_to_ix):
        vec = torch.zeros(len(word_to_ix))
        for word in sentence:
            vec[word_to_ix[word]] += 1
        return vec.view(1, -1)

    def make_target(label, label_to_ix):
        return torch.LongTensor([label_to_ix[label]])

    model = BoWClassifier(NUM_LABELS, VOCAB_SIZE)

    # the model knows its parameters.  The first output below is A, the second is b.
    # Whenever you assign a component to a class variable in the __init__ function
    # of a module, which was done with the line
    # self.linear = nn.Linear(...)
    # Then through some Python magic from the Pytorch devs, your module
    # (in this case, BoWClassifier) will store knowledge of the nn.Linear's parameters
    for param in model.parameters():
        print(param)

    # To run the model, pass in a BoW vector, but wrapped in an autograd.Variable
    sample = data[0]
    bow_vector = make_bow_vector(sample[0], word_to_ix)
    log_probs = model(autograd.Variable(bow_vector))
    print(log_probs)

    label_to_ix = {"SPANISH": 0, "ENGLISH": 1}

    # Run on test data before we train, just to see a before-and-after
    for instance, label in test_data:
        bow_vec = autograd.Variable(make_bow_vector(instance, word_to_ix))
        log_probs = model(bow_vec)
        print(log_probs)

    # Print the matrix column corresponding to "creo"
    print(next(model.parameters())[:, word_to_ix["creo"]])

    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    # Usually you want to pass over the training data several times.
    # 100 is much bigger than on a real data set, but real datasets have more than
    # two instances.  Usually, somewhere between 5 and 30 epochs is reasonable.
    for epoch in range(100):
        for instance, label in data:
            # Step 1. Remember that Pytorch accumulates gradients.
            # We need to clear them out before each instance
            model.zero_grad()

            # Step 2. Make our BOW vector and also we must wrap the target in a
            # Variable as an integer. For example, if the target is SPANISH, then
            # we wrap the integer 0. The loss function then knows that the 0th
            # element of the log probabilities is the log probability
            # corresponding to SPANISH
            bow_vec = autograd.Variable(make_bow_vector(instance, word_to_ix))
            target = autograd.Variable(make_target(label, label_to_ix))

            # Step 3. Run our forward pass.
            log_probs = model(bow_vec)

            # Step 4. Compute the loss, gradients, and update the parameters by
            # calling optimizer.step()
            loss = loss_function(log_probs, target)
            loss.backward()
            optimizer.step()

    test_log_probs = []  # differs: a list kept for the test
    for instance, label in test_data:
        bow_vec = autograd.Variable(make_bow_vector(instance, word_to_ix))
        log_probs = model(bow_vec)
        print(log_probs)
        test_log_probs.append(log_probs)

    # Index corresponding to Spanish goes up, English goes down!
    print(next(model.parameters())[:, word_to_ix["creo"]])
    return locals()


class RecordingSGD(optim.SGD):
    """optim.SGD that keeps a float64 copy of its parameters as they are when it is made: the scripts' initial
    weights, for the numpy replays."""
    made = []

    def __init__(self, params, *args, **kwargs):
        params = list(params)
        RecordingSGD.made.append([np.array(p.data, dtype=np.float64) for p in params])
        super().__init__(params, *args, **kwargs)


@pytest.fixture
def initial_weights(monkeypatch):
    RecordingSGD.made = []
    monkeypatch.setattr(optim, "SGD", RecordingSGD)
    return RecordingSGD.made


def np_log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def test_deep_learning_tutorial_bag_of_words_trains_as_logistic_regression_in_numpy(capsys, initial_weights):
    names = deep_learning_tutorial()
    out = capsys.readouterr().out
    word_to_ix, label_to_ix = names["word_to_ix"], names["label_to_ix"]
    v = names["softmax_input"].data.astype(np.float64)
    np.testing.assert_allclose(F.softmax(names["softmax_input"], dim=0).data, np.exp(np_log_softmax(v)), rtol=1e-6)

    def bow(sentence):
        vec = np.zeros(len(word_to_ix))
        for word in sentence:
            vec[word_to_ix[word]] += 1
        return vec

    (W, b), = initial_weights
    for epoch in range(100):                        # SGD on -log softmax(W v + b)[target], one sentence at a time
        for sentence, label in names["data"]:
            v = bow(sentence)
            g = np.exp(np_log_softmax(W @ v + b))
            g[label_to_ix[label]] -= 1
            W, b = W - 0.1 * np.outer(g, v), b - 0.1 * g
    for (sentence, label), got in zip(names["test_data"], names["test_log_probs"]):
        expected = np_log_softmax(W @ bow(sentence) + b)
        np.testing.assert_allclose(got.data[0], expected, rtol=1e-4, atol=1e-5)
        assert int(np.argmax(expected)) == label_to_ix[label]         # the tutorial's "We got the right answer!"
    np.testing.assert_allclose(names["model"].linear.weight.data, W, rtol=1e-4, atol=1e-5)
    creo = W[:, word_to_ix["creo"]]
    assert creo[0] > creo[1]                        # "Index corresponding to Spanish goes up, English goes down!"
    assert "{'me': 0, 'gusta': 1, 'comer': 2" in out


def word_embeddings_tutorial():
    # beginner_source/nlp/word_embeddings_tutorial.py (at 537d2173d209f790135701fa4dcdea2f73e718b7), its code in order
    torch.manual_seed(1)

    word_to_ix = {"hello": 0, "world": 1}
    embeds = nn.Embedding(2, 5)  # 2 words in vocab, 5 dimensional embeddings
    lookup_tensor = torch.tensor([word_to_ix["hello"]], dtype=torch.long)
    hello_embed = embeds(lookup_tensor)
    print(hello_embed)

    CONTEXT_SIZE = 2
    EMBEDDING_DIM = 10
    # We will use Shakespeare Sonnet 2
    test_sentence = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:
Then being asked, where all thy beauty lies,
Where all the treasure of thy lusty days;
To say, within thine own deep sunken eyes,
Were an all-eating shame, and thriftless praise.
How much more praise deserv'd thy beauty's use,
If thou couldst answer 'This fair child of mine
Shall sum my count, and make my old excuse,'
Proving his beauty by succession thine!
This were to be new made when thou art old,
And see thy blood warm when thou feel'st it cold.""".split()
    # we should tokenize the input, but we will ignore that for now
    # build a list of tuples.  Each tuple is ([ word_i-2, word_i-1 ], target word)
    trigrams = [([test_sentence[i], test_sentence[i + 1]], test_sentence[i + 2])
                for i in range(len(test_sentence) - 2)]
    # print the first 3, just so you can see what they look like
    print(trigrams[:3])

    vocab = set(test_sentence)
    word_to_ix = {word: i for i, word in enumerate(vocab)}

    class NGramLanguageModeler(nn.Module):

        def __init__(self, vocab_size, embedding_dim, context_size):
            super(NGramLanguageModeler, self).__init__()
            self.embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.linear1 = nn.Linear(context_size * embedding_dim, 128)
            self.linear2 = nn.Linear(128, vocab_size)

        def forward(self, inputs):
            embeds = self.embeddings(inputs).view((1, -1))
            out = F.relu(self.linear1(embeds))
            out = self.linear2(out)
            log_probs = F.log_softmax(out, dim=1)
            return log_probs

    losses = []
    loss_function = nn.NLLLoss()
    model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
    optimizer = optim.SGD(model.parameters(), lr=0.001)

    for epoch in range(10):
        total_loss = 0
        for context, target in trigrams:

            # Step 1. Prepare the inputs to be passed to the model (i.e, turn the words
            # into integer indices and wrap them in tensors)
            context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)

            # Step 2. Recall that torch *accumulates* gradients. Before passing in a
            # new instance, you need to zero out the gradients from the old
            # instance
            model.zero_grad()

            # Step 3. Run the forward pass, getting log probabilities over next
            # words
            log_probs = model(context_idxs)

            # Step 4. Compute your loss function. (Again, Torch wants the target
            # word wrapped in a tensor)
            loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))

            # Step 5. Do the backward pass and update the gradient
            loss.backward()
            optimizer.step()

            # Get the Python number from a 1-element Tensor by calling tensor.item()
            total_loss += loss.item()
        losses.append(total_loss)
    print(losses)  # The loss decreased every iteration over the training data!
    ngram = dict(model=model, trigrams=trigrams, word_to_ix=word_to_ix)  # differs: kept for the test

    CONTEXT_SIZE = 2  # 2 words to the left, 2 to the right
    raw_text = """We are about to study the idea of a computational process.
Computational processes are abstract beings that inhabit computers.
As they evolve, processes manipulate other abstract things called data.
The evolution of a process is directed by a pattern of rules
called a program. People create programs to direct processes. In effect,
we conjure the spirits of the computer with our spells.""".split()

    # By deriving a set from `raw_text`, we deduplicate the array
    vocab = set(raw_text)
    vocab_size = len(vocab)

    word_to_ix = {word: i for i, word in enumerate(vocab)}
    data = []
    for i in range(2, len(raw_text) - 2):
        context = [raw_text[i - 2], raw_text[i - 1],
                   raw_text[i + 1], raw_text[i + 2]]
        target = raw_text[i]
        data.append((context, target))
    print(data[:5])

    class CBOW(nn.Module):

        def __init__(self):
            pass

        def forward(self, inputs):
            pass

    # create your model and train.  here are some functions to help you make
    # the data ready for use by your module

    def make_context_vector(context, word_to_ix):
        idxs = [word_to_ix[w] for w in context]
        return torch.tensor(idxs, dtype=torch.long)

    context_vector = make_context_vector(data[0][0], word_to_ix)  # example  # differs: the value kept for the test
    return locals()


def ngram_numpy(params, trigrams, word_to_ix, epochs=10, lr=0.001):
    """The trigram model's SGD in float64 numpy, each gradient by hand: e = [C[w1], C[w2]], h = relu(W1 e + b1),
    z = W2 h + b2, loss = -log softmax(z)[target]; dz = softmax(z) - onehot, dW2 = dz h^T, dh = W2^T dz (0 where
    h = 0), dW1 = dh e^T, de = W1^T dh, scattered (added) into the context words' rows of C."""
    C, W1, b1, W2, b2 = params
    losses = []
    for _ in range(epochs):
        total = 0.0
        for context, target in trigrams:
            idx = [word_to_ix[w] for w in context]
            e = C[idx].reshape(-1)
            pre = W1 @ e + b1
            h = np.maximum(pre, 0)
            logp = np_log_softmax(W2 @ h + b2)
            total += -logp[word_to_ix[target]]
            dz = np.exp(logp)
            dz[word_to_ix[target]] -= 1
            dh = (W2.T @ dz) * (pre > 0)
            de = (W1.T @ dh).reshape(len(idx), -1)
            dC = np.zeros_like(C)
            np.add.at(dC, idx, de)
            C, W1, b1, W2, b2 = (C - lr * dC, W1 - lr * np.outer(dh, e), b1 - lr * dh, W2 - lr * np.outer(dz, h),
                                 b2 - lr * dz)
        losses.append(total)
    return losses, (C, W1, b1, W2, b2)


def test_word_embeddings_tutorial_trigram_model_matches_its_backprop_by_hand(capsys, initial_weights):
    names = word_embeddings_tutorial()
    out = capsys.readouterr().out
    ngram = names["ngram"]
    losses, (C, W1, b1, W2, b2) = ngram_numpy(initial_weights[0], ngram["trigrams"], ngram["word_to_ix"])
    np.testing.assert_allclose(names["losses"], losses, rtol=1e-5)
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))     # "The loss decreased every iteration"
    assert losses[0] < len(ngram["trigrams"]) * math.log(len(ngram["word_to_ix"])) * 1.5
    model = ngram["model"]
    np.testing.assert_allclose(model.embeddings.weight.data, C, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.linear2.weight.data, W2, rtol=1e-4, atol=1e-6)
    assert names["hello_embed"].shape == (1, 5)
    assert "[(['When', 'forty'], 'winters'), (['forty', 'winters'], 'shall')" in out
    assert names["data"][0] == (['We', 'are', 'to', 'study'], 'about')
    assert names["context_vector"].tolist() == [names["word_to_ix"][w] for w in ['We', 'are', 'to', 'study']]
    assert names["context_vector"].dtype == np.int64


# ---- 3. Dive into Deep Learning 1.0: the recurrent chapters ----------------------------------------------------

d2l = load_module("d2l", d2l_torch_py)      # round 11's copy of d2l/torch.py (d2l 1.0.3)
Vocab = d2l.Vocab  # differs: text-sequence.md defines Vocab beside TimeMachine; round 11's d2l has it

WORDS = ["the", "time", "traveller", "smiled", "and", "said", "it", "has", "a", "machine", "of", "we", "sat",
         "in", "his", "room", "psychologist", "looked", "at", "clock"]


def made_up_text(words=4000, seed=0):
    """A text of the WORDS, each followed by one of two words that come after it (so a character model can
    learn the spelling of every word and half of what follows), with punctuation and capitals that d2l's
    _preprocess takes out."""
    rng = np.random.default_rng(seed)
    following = {w: [WORDS[(i + 1) % len(WORDS)], WORDS[(3 * i + 2) % len(WORDS)]] for i, w in enumerate(WORDS)}
    word, out = "the", []
    for _ in range(words):
        out.append(word)
        word = following[word][rng.integers(2)]
    return "The " + " ".join(out[1:]).replace(" said ", ", said: ") + "."


class TimeMachine(d2l.DataModule): #@save
    # chapter_recurrent-neural-networks/text-sequence.md and language-model.md (d2l 1.0.3)
    """The Time Machine dataset."""
    def _download(self):
        return made_up_text()  # differs: the made-up text, not d2l.download of timemachine.txt

@d2l.add_to_class(TimeMachine)  #@save
def _preprocess(self, text):
    return re.sub('[^A-Za-z]+', ' ', text).lower()

@d2l.add_to_class(TimeMachine)  #@save
def _tokenize(self, text):
    return list(text)

@d2l.add_to_class(TimeMachine)  #@save
def build(self, raw_text, vocab=None):
    tokens = self._tokenize(self._preprocess(raw_text))
    if vocab is None: vocab = Vocab(tokens)
    corpus = [vocab[token] for token in tokens]
    return corpus, vocab

@d2l.add_to_class(TimeMachine)  #@save
def __init__(self, batch_size, num_steps, num_train=10000, num_val=5000):
    super(TimeMachine, self).__init__()
    self.save_hyperparameters()
    corpus, self.vocab = self.build(self._download())
    array = torch.tensor([corpus[i:i+num_steps+1]
                        for i in range(len(corpus)-num_steps)])
    self.X, self.Y = array[:,:-1], array[:,1:]

@d2l.add_to_class(TimeMachine)  #@save
def get_dataloader(self, train):
    idx = slice(0, self.num_train) if train else slice(
        self.num_train, self.num_train + self.num_val)
    return self.get_tensorloader([self.X, self.Y], train, idx)


# chapter_recurrent-neural-networks/rnn-scratch.md (d2l 1.0.3)
class RNNScratch(d2l.Module):  #@save
    """The RNN model implemented from scratch."""
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W_xh = nn.Parameter(
            torch.randn(num_inputs, num_hiddens) * sigma)
        self.W_hh = nn.Parameter(
            torch.randn(num_hiddens, num_hiddens) * sigma)
        self.b_h = nn.Parameter(torch.zeros(num_hiddens))

@d2l.add_to_class(RNNScratch)  #@save
def forward(self, inputs, state=None):
    if state is None:
        # Initial state with shape: (batch_size, num_hiddens)
        state = torch.zeros((inputs.shape[1], self.num_hiddens),
                          device=inputs.device)
    else:
        state, = state
    outputs = []
    for X in inputs:  # Shape of inputs: (num_steps, batch_size, num_inputs)
        state = torch.tanh(torch.matmul(X, self.W_xh) +
                         torch.matmul(state, self.W_hh) + self.b_h)
        outputs.append(state)
    return outputs, state

def check_len(a, n):  #@save
    """Check the length of a list."""
    assert len(a) == n, f'list\'s length {len(a)} != expected length {n}'

def check_shape(a, shape):  #@save
    """Check the shape of a tensor."""
    assert a.shape == shape, \
            f'tensor\'s shape {a.shape} != expected shape {shape}'

class RNNLMScratch(d2l.Classifier):  #@save
    """The RNN-based language model implemented from scratch."""
    def __init__(self, rnn, vocab_size, lr=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.init_params()

    def init_params(self):
        self.W_hq = nn.Parameter(
            torch.randn(
                self.rnn.num_hiddens, self.vocab_size) * self.rnn.sigma)
        self.b_q = nn.Parameter(torch.zeros(self.vocab_size))

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('ppl', torch.exp(l), train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('ppl', torch.exp(l), train=False)

@d2l.add_to_class(RNNLMScratch)  #@save
def one_hot(self, X):
    # Output shape: (num_steps, batch_size, vocab_size)
    return F.one_hot(X.T, self.vocab_size).type(torch.float32)

@d2l.add_to_class(RNNLMScratch)  #@save
def output_layer(self, rnn_outputs):
    outputs = [torch.matmul(H, self.W_hq) + self.b_q for H in rnn_outputs]
    return torch.stack(outputs, 1)

@d2l.add_to_class(RNNLMScratch)  #@save
def forward(self, X, state=None):
    embs = self.one_hot(X)
    rnn_outputs, _ = self.rnn(embs, state)
    return self.output_layer(rnn_outputs)

@d2l.add_to_class(RNNLMScratch)  #@save
def predict(self, prefix, num_preds, vocab, device=None):
    state, outputs = None, [vocab[prefix[0]]]
    for i in range(len(prefix) + num_preds - 1):
        X = torch.tensor([[outputs[-1]]], device=device)
        embs = self.one_hot(X)
        rnn_outputs, state = self.rnn(embs, state)
        if i < len(prefix) - 1:  # Warm-up period
            outputs.append(vocab[prefix[i + 1]])
        else:  # Predict num_preds steps
            Y = self.output_layer(rnn_outputs)
            outputs.append(int(Y.argmax(axis=2).reshape(1)))
    return ''.join([vocab.idx_to_token[i] for i in outputs])


def rnn_scratch_md(max_epochs=8):
    # The chapter's cells, in order (its `clip_gradients` is round 11's d2l.Trainer.clip_gradients)
    batch_size, num_inputs, num_hiddens, num_steps = 2, 16, 32, 100
    rnn = RNNScratch(num_inputs, num_hiddens)
    X = torch.ones((num_steps, batch_size, num_inputs))
    outputs, state = rnn(X)

    check_len(outputs, num_steps)
    check_shape(outputs[0], (batch_size, num_hiddens))
    check_shape(state, (batch_size, num_hiddens))

    model = RNNLMScratch(rnn, num_inputs)
    outputs = model(torch.ones((batch_size, num_steps), dtype=torch.int64))
    check_shape(outputs, (batch_size, num_steps, num_inputs))
    shape_cells = dict(rnn=rnn, model=model)  # differs: kept for the test

    data = TimeMachine(batch_size=64, num_steps=16, num_train=2048, num_val=512)  # differs: 1024, 32, 10000, 5000
    rnn = RNNScratch(num_inputs=len(data.vocab), num_hiddens=32)
    model = RNNLMScratch(rnn, vocab_size=len(data.vocab), lr=1)
    trainer = d2l.Trainer(max_epochs=max_epochs, gradient_clip_val=1, num_gpus=1)  # differs: 100 epochs
    trainer.fit(model, data)

    prediction = model.predict('it has', 20, data.vocab, d2l.try_gpu())
    return locals()


# chapter_recurrent-neural-networks/rnn-concise.md (d2l 1.0.3)
class RNN(d2l.Module):  #@save
    """The RNN model implemented with high-level APIs."""
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.save_hyperparameters()
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)

class RNNLM(RNNLMScratch):  #@save
    """The RNN-based language model implemented with high-level APIs."""
    def init_params(self):
        self.linear = nn.LazyLinear(self.vocab_size)

    def output_layer(self, hiddens):
        return self.linear(hiddens).swapaxes(0, 1)


# differs: d2l/torch.py carries these #@save'd classes, which gru.md and lstm.md call as d2l.<name>
d2l.RNNLMScratch, d2l.RNN, d2l.RNNLM = RNNLMScratch, RNN, RNNLM


def rnn_concise_md(max_epochs=8):
    data = TimeMachine(batch_size=64, num_steps=16, num_train=2048, num_val=512)  # differs: 1024, 32, 10000, 5000
    rnn = RNN(num_inputs=len(data.vocab), num_hiddens=32)
    model = RNNLM(rnn, vocab_size=len(data.vocab), lr=1)
    untrained = model.predict('it has', 20, data.vocab)

    trainer = d2l.Trainer(max_epochs=max_epochs, gradient_clip_val=1, num_gpus=1)  # differs: 100 epochs
    trainer.fit(model, data)

    prediction = model.predict('it has', 20, data.vocab, d2l.try_gpu())
    return locals()


# chapter_recurrent-modern/gru.md (d2l 1.0.3)
class GRUScratch(d2l.Module):
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()

        init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)
        triple = lambda: (init_weight(num_inputs, num_hiddens),
                          init_weight(num_hiddens, num_hiddens),
                          nn.Parameter(torch.zeros(num_hiddens)))
        self.W_xz, self.W_hz, self.b_z = triple()  # Update gate
        self.W_xr, self.W_hr, self.b_r = triple()  # Reset gate
        self.W_xh, self.W_hh, self.b_h = triple()  # Candidate hidden state

@d2l.add_to_class(GRUScratch)
def forward(self, inputs, H=None):
    if H is None:
        # Initial state with shape: (batch_size, num_hiddens)
        H = torch.zeros((inputs.shape[1], self.num_hiddens),
                      device=inputs.device)
    outputs = []
    for X in inputs:
        Z = torch.sigmoid(torch.matmul(X, self.W_xz) +
                        torch.matmul(H, self.W_hz) + self.b_z)
        R = torch.sigmoid(torch.matmul(X, self.W_xr) +
                        torch.matmul(H, self.W_hr) + self.b_r)
        H_tilde = torch.tanh(torch.matmul(X, self.W_xh) +
                           torch.matmul(R * H, self.W_hh) + self.b_h)
        H = Z * H + (1 - Z) * H_tilde
        outputs.append(H)
    return outputs, H

class GRU(d2l.RNN):
    def __init__(self, num_inputs, num_hiddens):
        d2l.Module.__init__(self)
        self.save_hyperparameters()
        self.rnn = nn.GRU(num_inputs, num_hiddens)


def gru_md(max_epochs=5):
    data = TimeMachine(batch_size=64, num_steps=16, num_train=2048, num_val=512)  # differs: 1024, 32, 10000, 5000
    gru = GRUScratch(num_inputs=len(data.vocab), num_hiddens=32)
    model = d2l.RNNLMScratch(gru, vocab_size=len(data.vocab), lr=4)
    trainer = d2l.Trainer(max_epochs=max_epochs, gradient_clip_val=1, num_gpus=1)  # differs: 50 epochs
    trainer.fit(model, data)
    scratch = model  # differs: kept for the test

    gru = GRU(num_inputs=len(data.vocab), num_hiddens=32)
    model = d2l.RNNLM(gru, vocab_size=len(data.vocab), lr=4)
    trainer.fit(model, data)

    prediction = model.predict('it has', 20, data.vocab, d2l.try_gpu())
    return locals()


# chapter_recurrent-modern/lstm.md (d2l 1.0.3)
class LSTMScratch(d2l.Module):
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()

        init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)
        triple = lambda: (init_weight(num_inputs, num_hiddens),
                          init_weight(num_hiddens, num_hiddens),
                          nn.Parameter(torch.zeros(num_hiddens)))
        self.W_xi, self.W_hi, self.b_i = triple()  # Input gate
        self.W_xf, self.W_hf, self.b_f = triple()  # Forget gate
        self.W_xo, self.W_ho, self.b_o = triple()  # Output gate
        self.W_xc, self.W_hc, self.b_c = triple()  # Input node

@d2l.add_to_class(LSTMScratch)
def forward(self, inputs, H_C=None):
    if H_C is None:
        # Initial state with shape: (batch_size, num_hiddens)
        H = torch.zeros((inputs.shape[1], self.num_hiddens),
                      device=inputs.device)
        C = torch.zeros((inputs.shape[1], self.num_hiddens),
                      device=inputs.device)
    else:
        H, C = H_C
    outputs = []
    for X in inputs:
        I = torch.sigmoid(torch.matmul(X, self.W_xi) +
                        torch.matmul(H, self.W_hi) + self.b_i)
        F = torch.sigmoid(torch.matmul(X, self.W_xf) +
                        torch.matmul(H, self.W_hf) + self.b_f)
        O = torch.sigmoid(torch.matmul(X, self.W_xo) +
                        torch.matmul(H, self.W_ho) + self.b_o)
        C_tilde = torch.tanh(torch.matmul(X, self.W_xc) +
                           torch.matmul(H, self.W_hc) + self.b_c)
        C = F * C + I * C_tilde
        H = O * torch.tanh(C)
        outputs.append(H)
    return outputs, (H, C)

class LSTM(d2l.RNN):
    def __init__(self, num_inputs, num_hiddens):
        d2l.Module.__init__(self)
        self.save_hyperparameters()
        self.rnn = nn.LSTM(num_inputs, num_hiddens)

    def forward(self, inputs, H_C=None):
        return self.rnn(inputs, H_C)


def lstm_md(max_epochs=5):
    data = TimeMachine(batch_size=64, num_steps=16, num_train=2048, num_val=512)  # differs: 1024, 32, 10000, 5000
    lstm = LSTMScratch(num_inputs=len(data.vocab), num_hiddens=32)
    model = d2l.RNNLMScratch(lstm, vocab_size=len(data.vocab), lr=4)
    trainer = d2l.Trainer(max_epochs=max_epochs, gradient_clip_val=1, num_gpus=1)  # differs: 50 epochs
    trainer.fit(model, data)
    scratch = model  # differs: kept for the test

    lstm = LSTM(num_inputs=len(data.vocab), num_hiddens=32)
    model = d2l.RNNLM(lstm, vocab_size=len(data.vocab), lr=4)
    trainer.fit(model, data)

    prediction = model.predict('it has', 20, data.vocab, d2l.try_gpu())
    return locals()



def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_rnn(X, p):
    """d2l's RNNScratch in numpy: H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h), H_0 = 0."""
    H, outputs = np.zeros((X.shape[1], p["W_hh"].shape[0])), []
    for x in X:
        H = np.tanh(x @ p["W_xh"] + H @ p["W_hh"] + p["b_h"])
        outputs.append(H)
    return outputs


def np_gru(X, p):
    """d2l's GRUScratch in numpy: Z, R gates, H~ = tanh(X W_xh + (R * H) W_hh + b_h), H = Z H + (1 - Z) H~."""
    H, outputs = np.zeros((X.shape[1], p["W_hh"].shape[0])), []
    for x in X:
        Z = sigmoid(x @ p["W_xz"] + H @ p["W_hz"] + p["b_z"])
        R = sigmoid(x @ p["W_xr"] + H @ p["W_hr"] + p["b_r"])
        H = Z * H + (1 - Z) * np.tanh(x @ p["W_xh"] + (R * H) @ p["W_hh"] + p["b_h"])
        outputs.append(H)
    return outputs


def np_lstm(X, p):
    """d2l's LSTMScratch in numpy: I, F, O gates, C~ = tanh(...), C = F C + I C~, H = O tanh(C)."""
    H = C = np.zeros((X.shape[1], p["W_hi"].shape[0]))
    outputs = []
    for x in X:
        gate = lambda g, f: f(x @ p["W_x" + g] + H @ p["W_h" + g] + p["b_" + g])
        I, F_, O, C_tilde = gate("i", sigmoid), gate("f", sigmoid), gate("o", sigmoid), gate("c", np.tanh)
        C = F_ * C + I * C_tilde
        H = O * np.tanh(C)
        outputs.append(H)
    return outputs


def arrays(module):
    return {name: np.array(p.data, dtype=np.float64) for name, p in module.named_parameters()}


def np_rnnlm_loss(params, X, Y, cell, vocab_size):
    """RNNLMScratch's loss in numpy: one-hot inputs (steps, batch, vocab), the cell, H W_hq + b_q, mean
    cross-entropy over every (batch, step)."""
    outputs = cell(np.eye(vocab_size)[X.T], {k[4:]: v for k, v in params.items() if k.startswith("rnn.")})
    logits = np.stack([H @ params["W_hq"] + params["b_q"] for H in outputs], 1)
    logp = np_log_softmax(logits).reshape(-1, vocab_size)
    return -logp[np.arange(logp.shape[0]), Y.reshape(-1)].mean()


def central(f, params, eps=1e-6):
    grads = {}
    for name, value in params.items():
        g = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            step = np.zeros_like(value)
            step[i] = eps
            g[i] = (f({**params, name: value + step}) - f({**params, name: value - step})) / (2 * eps)
        grads[name] = g
    return grads


def test_rnn_scratch_cells_check_shapes_and_compute_the_recurrence():
    torch.manual_seed(0)
    names = rnn_scratch_md(max_epochs=0)
    rnn = names["shape_cells"]["rnn"]
    outputs, state = rnn(torch.ones((100, 2, 16)))
    expected = np_rnn(np.ones((100, 2, 16)), arrays(rnn))
    np.testing.assert_allclose(np.stack([h.data for h in outputs]), np.stack(expected), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(state.data, outputs[-1].data)
    # F.one_hot(X.T, vocab).type(torch.float32): (steps, batch, vocab) float32
    embs = names["model"].one_hot(torch.tensor([[1, 2, 3], [0, 4, 4]]))
    assert embs.dtype == np.float32 and embs.shape == (3, 2, len(names["data"].vocab))
    np.testing.assert_array_equal(embs.data.argmax(-1), [[1, 0], [2, 4], [3, 4]])


@pytest.mark.parametrize("cell_class, np_cell", [(RNNScratch, np_rnn), (GRUScratch, np_gru), (LSTMScratch, np_lstm)])
def test_scratch_language_models_loss_and_gradients_against_numpy(cell_class, np_cell):
    torch.manual_seed(1)
    vocab_size, cell = 7, cell_class(7, 5, sigma=0.5)
    model = RNNLMScratch(cell, vocab_size)
    rng = np.random.default_rng(1)
    X, Y = rng.integers(0, vocab_size, (3, 4)), rng.integers(0, vocab_size, (3, 4))
    loss = model.loss(model(torch.tensor(X)), torch.tensor(Y))
    loss.backward()
    params = arrays(model)
    assert abs(loss.item() - np_rnnlm_loss(params, X, Y, np_cell, vocab_size)) < 1e-5
    expected = central(lambda p: np_rnnlm_loss(p, X, Y, np_cell, vocab_size), params)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], atol=2e-5 * max(1, np.abs(expected[name]).max()))


def test_trainer_clip_gradients_scales_the_joint_norm_to_the_threshold():
    """d2l's clip_gradients: g <- g * theta / ||g|| over all parameters together, when ||g|| > theta."""
    torch.manual_seed(2)
    model = RNNLMScratch(RNNScratch(6, 4, sigma=1.0), 6)
    model.loss(model(torch.tensor([[0, 1, 2, 3]])), torch.tensor([[1, 2, 3, 4]])).backward()
    before = [np.array(p.grad, dtype=np.float64) for p in model.parameters()]
    norm = math.sqrt(sum((g ** 2).sum() for g in before))
    assert norm > 0.5
    d2l.Trainer(max_epochs=1).clip_gradients(0.5, model)
    for g, p in zip(before, model.parameters()):
        np.testing.assert_allclose(p.grad, g * 0.5 / norm, rtol=1e-5)
    d2l.Trainer(max_epochs=1).clip_gradients(10.0, model)              # under the threshold: left as they are
    for g, p in zip(before, model.parameters()):
        np.testing.assert_allclose(p.grad, g * 0.5 / norm, rtol=1e-5)


def unigram_perplexity():
    """exp of the entropy of the made-up text's characters: what a model that ignores context scores."""
    text = re.sub('[^A-Za-z]+', ' ', made_up_text()).lower()
    counts = np.unique(list(text), return_counts=True)[1]
    frequencies = counts / counts.sum()
    return float(np.exp(-(frequencies * np.log(frequencies)).sum()))


def continues_in_words(prediction):
    """'it has' and then words of the text (the last one may be cut off)."""
    words = prediction.split()
    return prediction.startswith("it has") and len(prediction) == 26 and all(w in WORDS for w in words[:-1])


@pytest.mark.parametrize("chapter", [rnn_scratch_md, rnn_concise_md, gru_md, lstm_md])
def test_d2l_recurrent_language_models_learn_the_text(chapter):
    """Every model of the chapters gets its validation perplexity below a quarter of a context-free model's
    (about 13 here) and continues 'it has' in the text's words."""
    torch.manual_seed(3)
    names = chapter()
    bound = unigram_perplexity()
    assert bound > 10
    models = [names["model"]] + ([names["scratch"]] if "scratch" in names else [])
    for model in models:
        assert model.board.data["val_ppl"][-1].y < bound / 4
        assert model.board.data["train_ppl"][-1].y < model.board.data["train_ppl"][0].y
    assert continues_in_words(names["prediction"]), names["prediction"]
    if chapter is rnn_concise_md:
        assert len(names["untrained"]) == 26 and isinstance(names["model"].linear, nn.Linear)


# ---- 4. caogang/wgan-gp: the gradient penalty ----------------------------------------------------------------

# gan_toy.py (at 081b0f3d43117195481e21c2acae25dd8cf04773): its settings, the Discriminator and calc_gradient_penalty
DIM = 16  # differs: 512 there (a small net for the test)
LAMBDA = .1  # Smaller lambda seems to help for toy tasks specifically
BATCH_SIZE = 8  # differs: 256 there
use_cuda = False  # differs: True there


class Discriminator(nn.Module):

    def __init__(self):
        super(Discriminator, self).__init__()

        main = nn.Sequential(
            nn.Linear(2, DIM),
            nn.ReLU(True),
            nn.Linear(DIM, DIM),
            nn.ReLU(True),
            nn.Linear(DIM, DIM),
            nn.ReLU(True),
            nn.Linear(DIM, 1),
        )
        self.main = main

    def forward(self, inputs):
        output = self.main(inputs)
        return output.view(-1)


def calc_gradient_penalty(netD, real_data, fake_data, create_graph=True):  # differs: create_graph a parameter
    alpha = torch.rand(BATCH_SIZE, 1)
    alpha = alpha.expand(real_data.size())
    alpha = alpha.cuda() if use_cuda else alpha

    interpolates = alpha * real_data + ((1 - alpha) * fake_data)

    if use_cuda:
        interpolates = interpolates.cuda()
    interpolates = autograd.Variable(interpolates, requires_grad=True)

    disc_interpolates = netD(interpolates)

    gradients = autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                              grad_outputs=torch.ones(disc_interpolates.size()).cuda() if use_cuda else torch.ones(
                                  disc_interpolates.size()),
                              create_graph=create_graph, retain_graph=True, only_inputs=True)[0]

    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
    return gradient_penalty, gradients, interpolates  # differs: returns gradient_penalty alone


def np_discriminator_input_gradient(params, x):
    """d D(x_i) / d x_i for each row of x, the MLP's backward pass by hand: relu layers, then W4."""
    layers = [(params[f"main.{i}.weight"], params[f"main.{i}.bias"]) for i in (0, 2, 4, 6)]
    pre, h = [], x
    for W, b in layers[:-1]:
        pre.append(h @ W.T + b)
        h = np.maximum(pre[-1], 0)
    g = np.broadcast_to(layers[-1][0], (x.shape[0], layers[-1][0].shape[1]))
    for (W, _), z in zip(reversed(layers[:-1]), reversed(pre)):
        g = (g * (z > 0)) @ W
    return g


def test_wgan_gp_penalty_as_written_says_double_backward_is_not_supported():
    torch.manual_seed(4)
    netD = Discriminator()
    real, fake = torch.randn(BATCH_SIZE, 2), torch.randn(BATCH_SIZE, 2)
    with pytest.raises(NotImplementedError, match=r"autograd\.grad: create_graph=True \(gradients of gradients\) "
                                                  r"is not supported"):
        calc_gradient_penalty(netD, real, fake)


def test_wgan_gp_first_order_part_the_input_gradients_and_the_penalty():
    torch.manual_seed(5)
    netD = Discriminator()
    real, fake = torch.randn(BATCH_SIZE, 2), torch.randn(BATCH_SIZE, 2)
    penalty, gradients, interpolates = calc_gradient_penalty(netD, real, fake, create_graph=False)
    x = np.array(interpolates.data, dtype=np.float64)
    expected = np_discriminator_input_gradient(arrays(netD), x)
    assert gradients.shape == (BATCH_SIZE, 2) and not gradients.requires_grad
    np.testing.assert_allclose(gradients.data, expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(penalty.item(), LAMBDA * np.mean((np.linalg.norm(expected, axis=1) - 1) ** 2),
                               rtol=1e-5)
    assert netD.main[0].weight.grad is None      # (autograd.grad fills no .grad)


# ---- the gaps, pinned -------------------------------------------------------------------------------------------

def test_g2_polynomial_nns_pow_of_an_integer_tensor_keeps_the_float32_dtype_as_pytorchs():
    """polynomial_nn.py's `x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))` is float32 (the floating tensor's dtype
    wins across kinds, as PyTorch's), so nn.Linear(3, 1) takes it; the exponents are exact in float32."""
    x = torch.linspace(-math.pi, math.pi, 2000)
    xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
    assert xx.dtype == np.float32
    np.testing.assert_allclose(xx.data, np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)[:, None].astype(
        np.float64) ** np.array([1, 2, 3]), rtol=1e-6)
    assert nn.Linear(3, 1)(xx).dtype == np.float32


def test_g1_swapaxes_and_swapdims_swap_two_axes_and_their_gradient_swaps_back():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = torch.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x.swapaxes(0, 1).data, np.swapaxes(a, 0, 1))
    np.testing.assert_array_equal(x.swapdims(-1, 0).data, np.swapaxes(a, -1, 0))
    np.testing.assert_array_equal(x.swapaxes(axis0=2, axis1=1).data, np.swapaxes(a, 2, 1))
    np.testing.assert_array_equal(x.swapdims(dim0=1, dim1=1).data, a)
    w = np.random.default_rng(0).standard_normal((4, 3, 2))
    (x.swapaxes(0, 2) * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.swapaxes(w, 0, 2))
    assert torch.tensor(3.0).swapaxes(0, -1).shape == ()
    with pytest.raises(ValueError, match=r"swapaxes: expected two axes of shape \(2, 3, 4\) \(from -3 to 2\), got 0 "
                                         "and 3"):
        x.swapaxes(0, 3)

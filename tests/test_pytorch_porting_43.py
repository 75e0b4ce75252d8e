"""Porting, round 43: the first PyTorch scripts every student meets, from PyTorch's own tutorials repository, the
ones earlier rounds did not port (round 13 ported the autograd tutorials, round 18 the data tutorial and the
checkpoint recipe, round 21 "Learning PyTorch with Examples" and the NLP tutorials). Each is written as its
author wrote it, with only the imports changed (`# differs:` marks each other change and why); MNIST and
FashionMNIST are small made-up arrays of the same shapes and dtypes, torchvision the few lines it supplies:

1. pytorch/tutorials beginner_source/nn_tutorial.py (05e7ce2c19e72d482475d91d458db210cdacec38), Jeremy Howard's
   "What is torch.nn really?": logistic regression from raw tensors (`torch.randn(784, 10) / math.sqrt(784)`,
   `requires_grad_()`, a hand-written `log_softmax` and `nll` by `input[range(n), target]`, the update `weights
   -= weights.grad * lr` under `no_grad`), then `F.cross_entropy`, `nn.Module` with `nn.Parameter`,
   `nn.Linear`, `optim.SGD`, `TensorDataset` sliced `train_ds[i * bs: i * bs + bs]`, `DataLoader` (with
   `shuffle=True` and a validation loader), `loss_batch`/`fit`/`get_data`, `Mnist_CNN` (three stride-2
   `Conv2d`, `F.avg_pool2d`), the `nn.Sequential` with a `Lambda` layer and `nn.AvgPool2d`, the
   `WrappedDataLoader` with `nn.AdaptiveAvgPool2d`, and the device section.
2. pytorch/tutorials beginner_source/basics/tensorqs_tutorial.py (0dea8a155bb46fd384abe428afcbb65e0a391739).
3. pytorch/tutorials beginner_source/basics/buildmodel_tutorial.py (c53e7d4efc0e39e455c531d21ec7db28ba220214:
   the device chosen among cuda, mps and cpu, `NeuralNetwork`, `nn.Flatten`, `nn.Softmax(dim=1)`).
4. pytorch/tutorials beginner_source/basics/optimization_tutorial.py (009a87b0ec0b432889e865e55d3ae9e3912c306e:
   `train_loop` / `test_loop` with `nn.CrossEntropyLoss` and `torch.optim.SGD`, ten epochs).
5. pytorch/tutorials beginner_source/basics/saveloadrun_tutorial.py (71d9f09f5706a0980f6b673e7377a7e624f6edf5:
   `torch.save(model.state_dict(), 'model_weights.pth')`, `load_state_dict(torch.load(...))`, `torch.save(model,
   'model.pth')`).
6. pytorch/tutorials beginner_source/blitz/tensor_tutorial.py (1dc0de7f777e3aac6c073db3f710f6f735923762,
   "What is PyTorch?": `torch.empty`, `new_ones`, `randn_like`, `torch.add(..., out=)`, `y.add_(x)`, `view`).
7. pytorch/tutorials beginner_source/blitz/neural_networks_tutorial.py (7a017bba463ba73cfd9d48aabc7e05827a680906:
   LeNet with `F.max_pool2d`, `torch.flatten(s4, 1)`, `out.backward(torch.randn(1, 10))`, `nn.MSELoss`,
   `loss.grad_fn`, conv1's bias gradient before and after `backward`, and the `torch.optim` block its text
   shows).
8. pytorch/tutorials intermediate_source/custom_function_conv_bn_tutorial.py
   (00e250bb5194997fb2c89f073c58d5e8c4cd1d2b, "Fusing Convolution and Batch Norm using Custom Function"):
   `Conv2D` and `BatchNorm` as `torch.autograd.Function`s with `@once_differentiable`, their backward written
   with `F.conv2d` and `F.conv_transpose2d`, `gradcheck` of each, `FusedConvBN2DFunction` (whose backward
   returns seven gradients for three inputs, the extra ones None), `FusedConvBN` (`torch.empty(*shape,
   **factory_kwargs)`, `nn.init.kaiming_uniform_(..., a=math.sqrt(5))`), and the MNIST `Net` trained fused and
   unfused (`nn.BatchNorm2d(affine=False, track_running_stats=False)`) with `optim.Adadelta`, `StepLR`,
   `F.nll_loss(..., reduction='sum')`, `torch.inference_mode()`, `pred.eq(target.view_as(pred))`.
9. pytorch/tutorials intermediate_source/autograd_saved_tensors_hooks_tutorial.py
   (4a7bbb95617c3205bf25a5b37e262d577eb82847): only its first cells (y = a * b, f(f(f(x)))); everything after
   them uses names the library does not have (below).

Every source was read in the index at the commit named; none was written from memory.

What broke: nothing (no gap). Every script above runs with its imports changed, except for the lines below.

Met and left as documented (the lines say `differs:`):
  - ops take no `out=` (docs/api.md: "Ops take no `out=`"): tensorqs' `torch.matmul(tensor, tensor.T, out=y3)`
    and `torch.mul(..., out=z3)`, blitz's `torch.add(x, y, out=result)` are written as assignments.
  - the NumPy bridge: `t.numpy()` is a read-only view of the tensor's array, and `t.add_(1)` gives the tensor
    a new array, so `n` keeps the old values (PyTorch's shares memory and shows 2.); `torch.from_numpy` copies,
    so `np.add(n, 1, out=n)` leaves `t` at 1. (docs/pytorch.md, "numpy underneath" and "Tensors".)
  - a gradient is a numpy array: nn_tutorial's `weights.grad.zero_()` is `weights.grad = None`.
  - `loss.grad_fn` prints as the library's node, and `grad_fn.next_functions` is not there (docs/pytorch.md,
    "Autodiff"): the two `next_functions` prints of the LeNet tutorial are left out.
  - `torch.save(model, 'model.pth')` saves the state dict, and `torch.load('model.pth')` gives it back, not a
    module (docs/pytorch.md, "Checkpoints"): the port loads it into a new model.

Names the library lacks (not gaps; the lines that use them are left out, marked):
  - `torch.cuda.reset_peak_memory_stats` and `torch.cuda.max_memory_allocated` (the conv-bn tutorial's memory
    comparison, which on a CPU measures nothing anyway);
  - `torch.autograd.graph` (`saved_tensors_hooks`, `save_on_cpu`), the `grad_fn._saved_self`/`_saved_other`/
    `_saved_result` attributes (documented as absent) and `nn.DataParallel`: the saved-tensors-hooks tutorial
    from its `_saved_self` print on.
  - torchvision (`datasets.MNIST`, `datasets.FashionMNIST`, `transforms.ToTensor`, `Normalize`, `Compose`,
    `models.vgg16`): written below as the few lines they supply (a small VGG-shaped model for vgg16).

Noticed and left alone:
  - `param.size()` prints `Size([512, 784])` where PyTorch prints `torch.Size([512, 784])` (round 18 met it;
    the value is PyTorch's `torch.Size`, a tuple subclass, and compares equal).
  - the LeNet tutorial's older revision in the index (06dc9778) used `target = torch.arange(1, 11)`, an int64
    target for `nn.MSELoss` against a float output; the revision ported (7a017bba) uses `torch.randn(10)`.
  - `preds.shape` prints `(64, 10)` (a plain tuple, docs/api.md) where PyTorch prints `torch.Size([64, 10])`.
  - the saved-tensors tutorial's "Saving tensors to CPU" cell passes `pack, unpack` (the tuple hooks of the cell
    before) rather than the `pack_hook, unpack_hook` it just defined, and its disk hook saves `tensor`, a name
    not defined there: both typos of the source.

Expected values come from numpy written here in float64 (logistic regression and the MLP replayed by SGD step by
step, the CNNs' convolutions, pools and losses, conv + batch-norm as the tutorial defines it), closed forms and
central differences of that numpy; never from the library's own outputs.
"""

import math
import re
import types

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from porting_references import arr, central, np_log_softmax, quietly, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.utils.data import Dataset


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_cross_entropy(logits, y):
    return -np_log_softmax(logits)[np.arange(len(y)), y].mean()


def np_logistic_sgd(W, b, x, y, lr, epochs, bs):
    """Logistic regression xW + b, mean cross-entropy, plain SGD over the batches in order."""
    W, b = W.astype(np.float64).copy(), b.astype(np.float64).copy()
    x, y = x.astype(np.float64), np.asarray(y)
    n = len(x)
    for _ in range(epochs):
        for i in range((n - 1) // bs + 1):
            xb, yb = x[i * bs:i * bs + bs], y[i * bs:i * bs + bs]
            p = np.exp(np_log_softmax(xb @ W + b))
            p[np.arange(len(yb)), yb] -= 1
            g = p / len(yb)
            W, b = W - lr * (xb.T @ g), b - lr * g.sum(0)
    return W, b


def np_conv2d(x, w, b=None, stride=1, pad=0):
    """PyTorch's Conv2d (cross-correlation) of x (N, C, H, W) with w (O, C, k, k)."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[-1]
    windows = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwij,ocij->nohw", windows, w)
    return out if b is None else out + b[None, :, None, None]


def np_pool(x, k, reduce):
    n, c, h, w = x.shape
    return reduce(x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k), axis=(3, 5))


def np_relu(z):
    return np.maximum(z, 0)


def np_mlp(params, x):
    """NeuralNetwork's Flatten, Linear-ReLU-Linear-ReLU-Linear, in PyTorch's (out, in) layout."""
    h = x.reshape(len(x), -1)
    for i, (W, b) in enumerate(params):
        h = h @ W.T + b
        if i < len(params) - 1:
            h = np_relu(h)
    return h


def np_mlp_sgd(params, batches, lr):
    """Mean cross-entropy of np_mlp, backpropagated by hand, one SGD step per batch."""
    params = [(W.astype(np.float64).copy(), b.astype(np.float64).copy()) for W, b in params]
    for x, y in batches:
        acts = [x.reshape(len(x), -1).astype(np.float64)]
        for i, (W, b) in enumerate(params):
            z = acts[-1] @ W.T + b
            acts.append(np_relu(z) if i < len(params) - 1 else z)
        g = np.exp(np_log_softmax(acts[-1]))
        g[np.arange(len(y)), y] -= 1
        g /= len(y)
        grads = []
        for i in range(len(params) - 1, -1, -1):
            W, _ = params[i]
            grads.append((g.T @ acts[i], g.sum(0)))
            g = (g @ W) * (acts[i] > 0)
        grads.reverse()
        params = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    return params


def np_lenet(p, x):
    c1 = np_relu(np_conv2d(x, p["conv1.weight"], p["conv1.bias"]))
    s2 = np_pool(c1, 2, np.max)
    c3 = np_relu(np_conv2d(s2, p["conv2.weight"], p["conv2.bias"]))
    s4 = np_pool(c3, 2, np.max).reshape(len(x), -1)
    f5 = np_relu(s4 @ p["fc1.weight"].T + p["fc1.bias"])
    f6 = np_relu(f5 @ p["fc2.weight"].T + p["fc2.bias"])
    return f6 @ p["fc3.weight"].T + p["fc3.bias"]


def np_mnist_cnn(p, xb, prefix=("conv1", "conv2", "conv3")):
    h = xb.reshape(-1, 1, 28, 28)
    for name in prefix:
        h = np_relu(np_conv2d(h, p[name + ".weight"], p[name + ".bias"], stride=2, pad=1))
    return np_pool(h, 4, np.mean).reshape(len(h), -1)


def np_conv_bn(X, w, eps=1e-3):
    """The tutorial's fused layer: conv without bias, then (x - mean) / (sqrt(unbiased var) + eps) per channel."""
    out = np_conv2d(X, w)
    mean = out.mean(axis=(0, 2, 3), keepdims=True)
    std = np.sqrt(out.var(axis=(0, 2, 3), ddof=1, keepdims=True))
    return (out - mean) / (std + eps)


# ---- made-up data in MNIST's shapes and dtypes -----------------------------------------------------------

PROTOTYPES = (np.random.default_rng(1234).random((10, 784)) < 0.15).astype(np.float64)


def made_up_mnist(count, seed):
    """`count` flattened 28 x 28 float32 images in [0, 1] with int64 labels, as mnist.pkl.gz's (x, y) pairs are
    laid out: mostly black, as MNIST's (mean about 0.13), each class a fixed scatter of bright pixels, of which
    each image keeps about four in five, with a little noise elsewhere."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, count).astype(np.int64)
    keep = rng.random((count, 784)) < 0.8
    noise = (rng.random((count, 784)) < 0.03) * rng.random((count, 784))
    x = np.clip(PROTOTYPES[y] * keep * (0.7 + 0.3 * rng.random((count, 784))) + noise, 0.0, 1.0)
    return x.astype(np.float32), y


# torchvision, the few lines these tutorials use from it --------------------------------------------------------

class ToTensor:  # differs: torchvision.transforms.ToTensor: an (H, W) uint8 image to a (1, H, W) float in [0, 1]
    def __call__(self, pic):
        return torch.tensor(np.asarray(pic, dtype=np.float32)[None] / 255.0)


class Normalize:  # differs: torchvision.transforms.Normalize: (x - mean) / std per channel
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, t):
        return (t - self.mean[0]) / self.std[0]


class Compose:  # differs: torchvision.transforms.Compose
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


transforms = types.SimpleNamespace(ToTensor=ToTensor, Normalize=Normalize, Compose=Compose)


class FashionMNIST(Dataset):  # differs: torchvision.datasets.FashionMNIST / MNIST (downloads): made-up uint8 images
    sizes = {True: 256, False: 64}

    def __init__(self, root, train=True, download=False, transform=None):
        x, y = made_up_mnist(self.sizes[train], seed=1 if train else 2)
        self.data = (x.reshape(-1, 28, 28) * 255).astype(np.uint8)
        self.targets = y
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = self.data[index]
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[index])


class MNIST(FashionMNIST):
    sizes = {True: 64, False: 32}


datasets = types.SimpleNamespace(FashionMNIST=FashionMNIST, MNIST=MNIST)


# ---- 1. beginner_source/nn_tutorial.py (05e7ce2c), as written --------------------------------------------------

def nn_tutorial(data, record):
    """The tutorial's code cells in order; `record[...] = ...` lines (marked `# test:`) keep values for the tests."""
    # differs: `from pathlib import Path; import requests` and the download of mnist.pkl.gz, `import pickle, gzip`
    # and `pickle.load(f, encoding="latin-1")`: the made-up arrays in the same shapes and dtypes.
    ((x_train, y_train), (x_valid, y_valid)) = data

    # differs: `from matplotlib import pyplot` and `pyplot.imshow(x_train[0].reshape((28, 28)), cmap="gray")`
    # are left out (nothing to look at in a test).
    # differs: `import numpy as np` here served only pyplot.imshow (left out); the tutorial imports it again below.

    print(x_train.shape)

    import microgradseq as torch

    x_train, y_train, x_valid, y_valid = map(
        torch.tensor, (x_train, y_train, x_valid, y_valid)
    )
    n, c = x_train.shape
    x_train, x_train.shape, y_train.min(), y_train.max()
    print(x_train, y_train)
    print(x_train.shape)
    print(y_train.min(), y_train.max())

    import math

    weights = torch.randn(784, 10) / math.sqrt(784)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)
    record["scratch_w0"], record["scratch_b0"] = arr(weights), arr(bias)  # test:

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    bs = 64  # batch size

    xb = x_train[0:bs]  # a mini-batch from x
    preds = model(xb)  # predictions
    preds[0], preds.shape
    print(preds[0], preds.shape)
    record["preds"] = preds  # test:

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    loss_func = nll

    yb = y_train[0:bs]
    print(loss_func(preds, yb))
    record["scratch_loss_before"] = loss_func(preds, yb).item()  # test:

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    print(accuracy(preds, yb))
    record["accuracy_before"] = accuracy(preds, yb).item()  # test:

    # differs: `from IPython.core.debugger import set_trace` is left out (IPython is not a dependency; the tutorial's
    # call to it is commented out).

    lr = 0.5  # learning rate
    epochs = 2  # how many epochs to train for

    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            #         set_trace()
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad = None  # differs: weights.grad.zero_(): a gradient is a numpy array (docs/pytorch.md)
                bias.grad = None  # differs: bias.grad.zero_(), likewise

    print(loss_func(model(xb), yb), accuracy(model(xb), yb))
    record["scratch_w"], record["scratch_b"] = arr(weights), arr(bias)  # test:
    record["scratch_after"] = (loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item())  # test:

    import microgradseq.nn.functional as F

    loss_func = F.cross_entropy

    def model(xb):
        return xb @ weights + bias

    print(loss_func(model(xb), yb), accuracy(model(xb), yb))
    record["functional_after"] = (loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item())  # test:

    from microgradseq import nn

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, xb):
            return xb @ self.weights + self.bias

    model = Mnist_Logistic()
    record["module_0"] = (arr(model.weights), arr(model.bias))  # test:

    print(loss_func(model(xb), yb))

    def fit():
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)

                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * lr
                    model.zero_grad()

    fit()
    record["module_1"] = (arr(model.weights), arr(model.bias))  # test:

    print(loss_func(model(xb), yb))

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 10)

        def forward(self, xb):
            return self.lin(xb)

    model = Mnist_Logistic()
    record["linear_0"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:
    print(loss_func(model(xb), yb))

    fit()
    record["linear_1"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:

    print(loss_func(model(xb), yb))

    from microgradseq import optim

    def get_model():
        model = Mnist_Logistic()
        return model, optim.SGD(model.parameters(), lr=lr)

    model, opt = get_model()
    record["optim_0"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:
    print(loss_func(model(xb), yb))

    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

    print(loss_func(model(xb), yb))
    record["optim_1"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:

    from microgradseq.utils.data import TensorDataset

    train_ds = TensorDataset(x_train, y_train)

    model, opt = get_model()
    record["dataset_0"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:

    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            xb, yb = train_ds[i * bs: i * bs + bs]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

    print(loss_func(model(xb), yb))
    record["dataset_1"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:

    from microgradseq.utils.data import DataLoader

    train_ds = TensorDataset(x_train, y_train)
    train_dl = DataLoader(train_ds, batch_size=bs)

    model, opt = get_model()
    record["loader_0"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:

    for epoch in range(epochs):
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

    print(loss_func(model(xb), yb))
    record["loader_1"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:

    train_ds = TensorDataset(x_train, y_train)
    train_dl = DataLoader(train_ds, batch_size=bs, shuffle=True)

    valid_ds = TensorDataset(x_valid, y_valid)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)

    model, opt = get_model()
    record["valid_losses"] = []  # test:

    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            opt.step()
            opt.zero_grad()

        model.eval()
        with torch.no_grad():
            valid_loss = sum(loss_func(model(xb), yb) for xb, yb in valid_dl)

        print(epoch, valid_loss / len(valid_dl))
        record["valid_losses"].append((valid_loss / len(valid_dl)).item())  # test:
    record["shuffled"] = (arr(model.lin.weight).T, arr(model.lin.bias))  # test:

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)

        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()

        return loss.item(), len(xb)

    import numpy as np

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)

            model.eval()
            with torch.no_grad():
                losses, nums = zip(
                    *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl]
                )
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)

            print(epoch, val_loss)

    def get_data(train_ds, valid_ds, bs):
        return (
            DataLoader(train_ds, batch_size=bs, shuffle=True),
            DataLoader(valid_ds, batch_size=bs * 2),
        )

    print("== fit: logistic")  # test: a marker for the printed validation losses
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model, opt = get_model()
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    class Mnist_CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))

    record["Mnist_CNN"] = Mnist_CNN  # test:

    lr = 0.1

    print("== fit: Mnist_CNN")  # test:
    model = Mnist_CNN()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            return self.func(x)

    def preprocess(x):
        return x.view(-1, 1, 28, 28)

    print("== fit: Sequential")  # test:
    model = nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(4),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    record["sequential"] = model  # test:

    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    def preprocess(x, y):
        return x.view(-1, 1, 28, 28), y

    class WrappedDataLoader:
        def __init__(self, dl, func):
            self.dl = dl
            self.func = func

        def __len__(self):
            return len(self.dl)

        def __iter__(self):
            batches = iter(self.dl)
            for b in batches:
                yield (self.func(*b))

    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    train_dl = WrappedDataLoader(train_dl, preprocess)
    valid_dl = WrappedDataLoader(valid_dl, preprocess)
    record["wrapped_valid_dl"] = valid_dl  # test:

    print("== fit: adaptive")  # test:
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )
    record["adaptive"] = model  # test:

    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    fit(epochs, model, loss_func, opt, train_dl, valid_dl)

    print(torch.cuda.is_available())

    dev = torch.device(
        "cuda") if torch.cuda.is_available() else torch.device("cpu")

    def preprocess(x, y):
        return x.view(-1, 1, 28, 28).to(dev), y.to(dev)

    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    train_dl = WrappedDataLoader(train_dl, preprocess)
    valid_dl = WrappedDataLoader(valid_dl, preprocess)

    model.to(dev)
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    print("== fit: device")  # test:
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    record["device_model"] = model  # test:


def fit_sections(text):
    """The validation losses `fit` printed, per section: {name: [loss of epoch 0, loss of epoch 1]}."""
    sections, name = {}, None
    for line in text.splitlines():
        if line.startswith("== fit: "):
            name = line[len("== fit: "):]
            sections[name] = []
        elif name is not None and re.fullmatch(r"\d+ \S+", line):
            sections[name].append(float(line.split()[1]))
    return sections


@pytest.fixture(scope="module")
def nn_run():
    torch.manual_seed(0)
    data = (made_up_mnist(256, seed=1), made_up_mnist(128, seed=2))
    record = {}
    _, text = quietly(nn_tutorial, data, record)
    return data, record, text


def test_nn_tutorial_from_scratch_forward_is_numpys_log_softmax_nll_and_accuracy(nn_run):
    ((x, y), _), record, _ = nn_run
    logits = x[:64].astype(np.float64) @ record["scratch_w0"] + record["scratch_b0"]
    expected = np_log_softmax(logits)
    assert record["preds"].shape == (64, 10)
    assert np.allclose(arr(record["preds"]), expected, atol=1e-5)
    assert record["scratch_loss_before"] == pytest.approx(np_cross_entropy(logits, y[:64]), abs=1e-5)
    assert record["accuracy_before"] == pytest.approx(np.mean(logits.argmax(1) == y[:64]))


@pytest.mark.parametrize("stage", ["scratch", "module", "linear", "optim", "dataset", "loader"])
def test_nn_tutorial_each_refactoring_is_the_same_sgd_as_numpys(nn_run, stage):
    # The hand-written loop, fit() over nn.Parameter and nn.Linear, optim.SGD, TensorDataset slices and an
    # unshuffled DataLoader all take the same 2 epochs x 4 batches of SGD at lr 0.5: replayed in float64.
    ((x, y), _), record, _ = nn_run
    if stage == "scratch":
        (W0, b0), (W1, b1) = (record["scratch_w0"], record["scratch_b0"]), (record["scratch_w"], record["scratch_b"])
    else:
        (W0, b0), (W1, b1) = record[stage + "_0"], record[stage + "_1"]
    W, b = np_logistic_sgd(W0, b0, x, y, lr=0.5, epochs=2, bs=64)
    assert np.abs(W1 - W).max() < 1e-4 and np.abs(b1 - b).max() < 1e-4
    assert np.abs(W1 - W0).max() > 1e-2                               # it did move


def test_nn_tutorial_training_lowers_the_loss_and_cross_entropy_matches_the_hand_written_nll(nn_run):
    (_, (xv, yv)), record, _ = nn_run
    loss_after, acc_after = record["scratch_after"]
    assert loss_after < record["scratch_loss_before"] - 0.5
    assert acc_after > record["accuracy_before"]
    # "Let's confirm that our loss and accuracy are the same as before": F.cross_entropy of the logits
    assert record["functional_after"][0] == pytest.approx(loss_after, abs=1e-5)
    assert record["functional_after"][1] == acc_after
    # the shuffled loop with validation: the last printed validation loss is numpy's for the final weights
    W, b = record["shuffled"]
    assert record["valid_losses"][-1] == pytest.approx(np_cross_entropy(xv @ W + b, yv), abs=1e-4)
    assert record["valid_losses"][-1] < math.log(10) - 0.5


def test_nn_tutorial_fit_prints_falling_validation_losses_for_every_model(nn_run):
    (_, (xv, yv)), record, text = nn_run
    sections = fit_sections(text)
    assert list(sections) == ["logistic", "Mnist_CNN", "Sequential", "adaptive", "device"]
    for name, losses in sections.items():
        assert len(losses) == 2 and all(np.isfinite(losses)), name
    assert sections["logistic"][-1] < math.log(10) - 0.5
    for name, losses in sections.items():                            # each fit's second epoch is better
        assert losses[1] < losses[0] < math.log(10) + 0.01, (name, losses)
    # (the CNNs start near log(10), their outputs being ReLUs averaged; eight steps on 256 made-up images move
    # them a little, as the tutorial's first of 782 batches would.) The device section trains the adaptive model on:
    assert sections["device"][-1] < sections["adaptive"][0]
    # the last `fit` of the device section: its validation loss is numpy's CNN on the wrapped loader's data
    model = record["device_model"]
    p = {f"conv{k}.{w}": arr(getattr(model[2 * (k - 1)], w)) for k in (1, 2, 3) for w in ("weight", "bias")}
    logits = np_mnist_cnn(p, xv.astype(np.float64))
    assert sections["device"][-1] == pytest.approx(np_cross_entropy(logits, yv), abs=1e-4)


def test_nn_tutorial_wrapped_loader_hands_images_and_labels_batch_by_batch(nn_run):
    (_, (xv, yv)), record, _ = nn_run
    batches = list(record["wrapped_valid_dl"])
    assert len(record["wrapped_valid_dl"]) == 1 and len(batches) == 1
    xb, yb = batches[0]
    assert xb.shape == (128, 1, 28, 28) and yb.dtype == np.int64
    assert np.array_equal(arr(xb).reshape(128, -1), xv.astype(np.float64)) and np.array_equal(arr(yb), yv)


def test_nn_tutorial_cnn_forward_and_gradients_by_central_differences_in_float64(nn_run):
    (_, (xv, yv)), record, _ = nn_run
    torch.set_default_dtype(torch.float64)
    model = record["Mnist_CNN"]()
    xb, yb = torch.tensor(xv[:6].astype(np.float64)), torch.tensor(yv[:6])
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    p = {name: arr(t) for name, t in model.named_parameters()}

    def f(name):
        def value(v):
            return np_cross_entropy(np_mnist_cnn({**p, name: v}, arr(xb)), yv[:6])
        return value

    assert loss.item() == pytest.approx(f("conv1.weight")(p["conv1.weight"]), abs=1e-12)
    for name, count in (("conv1.weight", 6), ("conv2.weight", 4), ("conv3.bias", 10)):
        idx = some_indices(p[name].shape, count, seed=len(name))
        got = np.array([model.get_parameter(name).grad[i] for i in idx])
        assert np.allclose(got, central(f(name), p[name], idx), atol=1e-8), name


def test_nn_tutorial_sequential_with_lambda_layers_is_the_same_cnn(nn_run):
    (_, (xv, _)), record, _ = nn_run
    model = record["sequential"]
    p = {f"conv{k}.{w}": arr(getattr(model[2 * k - 1], w)) for k in (1, 2, 3) for w in ("weight", "bias")}
    with torch.no_grad():
        out = model(torch.tensor(xv[:5]))
    assert out.shape == (5, 10)
    assert np.allclose(arr(out), np_mnist_cnn(p, xv[:5].astype(np.float64)), atol=1e-5)


# ---- 2. beginner_source/basics/tensorqs_tutorial.py (0dea8a15), as written ----------------------------------------

def tensorqs_tutorial():
    import microgradseq as torch
    import numpy as np

    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)

    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)

    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    print(f"Ones Tensor: \n {x_ones} \n")

    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    print(f"Random Tensor: \n {x_rand} \n")

    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)

    print(f"Random Tensor: \n {rand_tensor} \n")
    print(f"Ones Tensor: \n {ones_tensor} \n")
    print(f"Zeros Tensor: \n {zeros_tensor}")

    tensor = torch.rand(3, 4)

    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")
    attributes = (tensor.shape, tensor.dtype, tensor.device)  # test:

    # We move our tensor to the GPU if available, and if the cuda version is supported
    if torch.cuda.is_available() & (torch.device('cuda').index is not None):
        tensor = tensor.to('cuda')

    tensor = torch.ones(4, 4)
    print('First row: ', tensor[0])
    print('First column: ', tensor[:, 0])
    print('Last column:', tensor[..., -1])
    tensor[:, 1] = 0
    print(tensor)

    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)

    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)

    y3 = torch.rand_like(tensor)
    y3 = torch.matmul(tensor, tensor.T)  # differs: `torch.matmul(tensor, tensor.T, out=y3)`: ops take no out=

    z1 = tensor * tensor
    z2 = tensor.mul(tensor)

    z3 = torch.rand_like(tensor)
    z3 = torch.mul(tensor, tensor)  # differs: `torch.mul(tensor, tensor, out=z3)`, likewise

    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))

    print(tensor, "\n")
    tensor.add_(5)
    print(tensor)

    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")

    t.add_(1)
    print(f"t: {t}")
    print(f"n: {n}")
    bridge_to_numpy = (arr(t), np.array(n))  # test:

    n = np.ones(5)
    t = torch.from_numpy(n)

    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")
    return dict(locals(), bridge_from_numpy=(arr(t), np.array(n)))  # test: the script's names, for the checks


def test_tensorqs_tutorial_runs_and_its_values_are_the_tutorials():
    ns, text = quietly(tensorqs_tutorial)
    assert ns["x_data"].dtype == np.int64 and ns["x_data"].tolist() == [[1, 2], [3, 4]]
    assert ns["x_np"].dtype == np.int64 and np.array_equal(arr(ns["x_np"]), [[1, 2], [3, 4]])
    assert ns["x_ones"].dtype == np.int64 and ns["x_ones"].tolist() == [[1, 1], [1, 1]]
    rand = arr(ns["x_rand"])
    assert ns["x_rand"].dtype == np.float32 and rand.shape == (2, 2) and ((0 <= rand) & (rand < 1)).all()
    assert ns["rand_tensor"].shape == (2, 3) and ns["zeros_tensor"].tolist() == [[0.0] * 3] * 2
    assert ns["attributes"][0] == (3, 4) and ns["attributes"][1] == np.float32 and str(ns["attributes"][2]) == "cpu"
    expected = np.ones((4, 4))
    expected[:, 1] = 0
    assert np.array_equal(arr(ns["t1"]), np.concatenate([expected] * 3, axis=1))
    for name in ("y1", "y2", "y3"):
        assert np.array_equal(arr(ns[name]), expected @ expected.T), name
    for name in ("z1", "z2", "z3"):
        assert np.array_equal(arr(ns[name]), expected * expected), name
    assert ns["agg_item"] == 12.0 and type(ns["agg_item"]) is float
    assert np.array_equal(arr(ns["tensor"]), expected + 5)
    assert "Device tensor is stored on: cpu" in text and "12.0 <class 'float'>" in text


def test_tensorqs_tutorial_numpy_bridge_is_the_documented_copy():
    # differs (documented): PyTorch's t.numpy() and from_numpy share memory, so there n follows t.add_(1) (n: [2.
    # 2. ...]) and t follows np.add(n, 1, out=n); here t.numpy() is a read-only view of the array t had, add_
    # gives t a new one, and from_numpy copies (docs/pytorch.md, "numpy underneath").
    ns, _ = quietly(tensorqs_tutorial)
    t, n = ns["bridge_to_numpy"]
    assert np.array_equal(t, np.full(5, 2.0)) and np.array_equal(n, np.ones(5))
    t, n = ns["bridge_from_numpy"]
    assert np.array_equal(t, np.ones(5)) and np.array_equal(n, np.full(5, 2.0))


# ---- 3. beginner_source/basics/buildmodel_tutorial.py (c53e7d4e), as written -------------------------------------

def buildmodel_tutorial():
    # differs: `import os` is imported and never used by the tutorial: left out (pyflakes).
    import microgradseq as torch
    from microgradseq import nn
    # differs: `from torch.utils.data import DataLoader` and `from torchvision import datasets, transforms` are
    # imported and never used by the tutorial: left out.

    device = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    print(f"Using {device} device")

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28*28, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 10),
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    model = NeuralNetwork().to(device)
    print(model)

    X = torch.rand(1, 28, 28, device=device)
    logits = model(X)
    pred_probab = nn.Softmax(dim=1)(logits)
    y_pred = pred_probab.argmax(1)
    print(f"Predicted class: {y_pred}")
    first = dict(first_logits=logits, first_probab=pred_probab)  # test:

    input_image = torch.rand(3, 28, 28)
    print(input_image.size())

    flatten = nn.Flatten()
    flat_image = flatten(input_image)
    print(flat_image.size())

    layer1 = nn.Linear(in_features=28*28, out_features=20)
    hidden1 = layer1(flat_image)
    print(hidden1.size())

    print(f"Before ReLU: {hidden1}\n\n")
    before_relu = hidden1  # test:
    hidden1 = nn.ReLU()(hidden1)
    print(f"After ReLU: {hidden1}")

    seq_modules = nn.Sequential(
        flatten,
        layer1,
        nn.ReLU(),
        nn.Linear(20, 10)
    )
    input_image = torch.rand(3, 28, 28)
    logits = seq_modules(input_image)

    softmax = nn.Softmax(dim=1)
    pred_probab = softmax(logits)

    print(f"Model structure: {model}\n\n")

    for name, param in model.named_parameters():
        print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
    return dict(locals(), **first)


PRINTED_MODEL = """NeuralNetwork(
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (linear_relu_stack): Sequential(
    (0): Linear(in_features=784, out_features=512, bias=True)
    (1): ReLU()
    (2): Linear(in_features=512, out_features=512, bias=True)
    (3): ReLU()
    (4): Linear(in_features=512, out_features=10, bias=True)
  )
)"""  # the tutorial's printed output, as its page shows it


def test_buildmodel_tutorial_prints_pytorchs_structure_and_predicts_numpys_class():
    ns, text = quietly(buildmodel_tutorial)
    assert ns["device"] == "cpu" and "Using cpu device" in text
    assert text.count(PRINTED_MODEL) == 2
    model = ns["model"]
    params = [(arr(model.linear_relu_stack[k].weight), arr(model.linear_relu_stack[k].bias)) for k in (0, 2, 4)]
    logits = np_mlp(params, arr(ns["X"]))
    assert np.allclose(arr(ns["first_logits"]), logits, atol=1e-5)
    probs = np.exp(np_log_softmax(logits))
    assert np.allclose(arr(ns["first_probab"]), probs, atol=1e-6)
    assert ns["y_pred"].tolist() == [int(probs.argmax(1)[0])]
    assert ns["flat_image"].shape == (3, 784) and ns["hidden1"].shape == (3, 20)
    assert np.array_equal(arr(ns["hidden1"]), np.maximum(arr(ns["before_relu"]), 0))
    p = ns["seq_modules"]
    seq = np_mlp([(arr(p[1].weight), arr(p[1].bias)), (arr(p[3].weight), arr(p[3].bias))], arr(ns["input_image"]))
    assert np.allclose(arr(ns["logits"]), seq, atol=1e-5)
    assert np.allclose(arr(ns["pred_probab"]).sum(1), 1.0, atol=1e-6)
    names = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("Layer: ")]
    assert names == [f"Layer: linear_relu_stack.{k}.{w}" for k in (0, 2, 4) for w in ("weight", "bias")]
    assert "Layer: linear_relu_stack.0.weight | Size: Size([512, 784]) | Values : tensor([[" in text


# ---- 4. beginner_source/basics/optimization_tutorial.py (009a87b0), as written -----------------------------------

def optimization_tutorial(record):
    import microgradseq as torch
    from microgradseq import nn
    from microgradseq.utils.data import DataLoader
    # differs: `from torchvision import datasets` and `from torchvision.transforms import ToTensor`: the stand-ins
    # above (made-up FashionMNIST of 256 training and 64 test images, 28 x 28 uint8).

    training_data = datasets.FashionMNIST(
        root="data",
        train=True,
        download=True,
        transform=ToTensor()
    )

    test_data = datasets.FashionMNIST(
        root="data",
        train=False,
        download=True,
        transform=ToTensor()
    )

    train_dataloader = DataLoader(training_data, batch_size=64)
    test_dataloader = DataLoader(test_data, batch_size=64)

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28*28, 512),
                nn.ReLU(),
                nn.Linear(512, 512),
                nn.ReLU(),
                nn.Linear(512, 10),
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    model = NeuralNetwork()
    record["model"], record["NeuralNetwork"] = model, NeuralNetwork  # test:
    record["initial"] = [(arr(model.linear_relu_stack[k].weight), arr(model.linear_relu_stack[k].bias))
                         for k in (0, 2, 4)]  # test:

    learning_rate = 1e-3
    batch_size = 64
    epochs = 5

    loss_fn = nn.CrossEntropyLoss()

    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

    def train_loop(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        # Set the model to training mode - important for batch normalization and dropout layers
        # Unnecessary in this situation but added for best practices
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            # Compute prediction and loss
            pred = model(X)
            loss = loss_fn(pred, y)

            # Backpropagation
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            if batch % 100 == 0:
                loss, current = loss.item(), batch * batch_size + len(X)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

    def test_loop(dataloader, model, loss_fn):
        # Set the model to evaluation mode - important for batch normalization and dropout layers
        # Unnecessary in this situation but added for best practices
        model.eval()
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        test_loss, correct = 0, 0

        # Evaluating the model with torch.no_grad() ensures that no gradients are computed during test mode
        # also serves to reduce unnecessary gradient computations and memory usage for tensors with requires_grad=True
        with torch.no_grad():
            for X, y in dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()

        test_loss /= num_batches
        correct /= size
        print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

    epochs = 10
    for t in range(epochs):
        print(f"Epoch {t+1}\n-------------------------------")
        train_loop(train_dataloader, model, loss_fn, optimizer)
        test_loop(test_dataloader, model, loss_fn)
    print("Done!")
    return epochs


@pytest.fixture(scope="module")
def optimization_run():
    torch.manual_seed(0)
    record = {}
    _, text = quietly(optimization_tutorial, record)
    return record, text


def fashion_batches(train, batch_size=64):
    data = FashionMNIST("data", train=train)
    x, y = data.data.astype(np.float64) / 255.0, data.targets
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(y), batch_size)]


def test_optimization_tutorial_ten_epochs_are_numpys_sgd_step_by_step(optimization_run):
    record, text = optimization_run
    batches = fashion_batches(train=True) * 10                      # 10 epochs of 4 unshuffled batches
    expected = np_mlp_sgd(record["initial"], batches, lr=1e-3)
    model = record["model"]
    for (W, b), k in zip(expected, (0, 2, 4)):
        assert np.abs(arr(model.linear_relu_stack[k].weight) - W).max() < 2e-6
        assert np.abs(arr(model.linear_relu_stack[k].bias) - b).max() < 2e-6
    assert text.count("Epoch ") == 10 and text.rstrip().endswith("Done!")
    assert "loss: " in text and "[   64/  256]" in text


def test_optimization_tutorial_test_loop_prints_numpys_loss_and_accuracy_falling(optimization_run):
    record, text = optimization_run
    printed = [(float(a), float(b)) for a, b in re.findall(r"Accuracy: ([\d.]+)%, Avg loss: ([\d.]+)", text)]
    assert len(printed) == 10
    losses = [loss for _, loss in printed]
    assert all(b < a for a, b in zip(losses, losses[1:]))          # every epoch lowers the test loss
    model = record["model"]
    params = [(arr(model.linear_relu_stack[k].weight), arr(model.linear_relu_stack[k].bias)) for k in (0, 2, 4)]
    (x, y), = fashion_batches(train=False)
    logits = np_mlp(params, x)
    assert losses[-1] == pytest.approx(np_cross_entropy(logits, y), abs=2e-6)
    assert printed[-1][0] == pytest.approx(round(100 * np.mean(logits.argmax(1) == y), 1))
    first_loss = np_cross_entropy(np_mlp(record["initial"], x), y)
    assert losses[-1] < first_loss


def test_optimization_tutorial_gradients_by_central_differences_in_float64(optimization_run):
    record, _ = optimization_run
    torch.set_default_dtype(torch.float64)
    model = record["NeuralNetwork"]()                                # the tutorial's class, in float64
    (x, y) = fashion_batches(train=False, batch_size=8)[0]
    loss = nn.CrossEntropyLoss()(model(torch.tensor(x[:, None])), torch.tensor(y))
    loss.backward()
    stack = model.linear_relu_stack
    params = [(arr(stack[k].weight), arr(stack[k].bias)) for k in (0, 2, 4)]

    def f(layer, which):
        def value(v):
            ps = [list(p) for p in params]
            ps[layer][which] = v
            return np_cross_entropy(np_mlp(ps, x), y)
        return value

    assert loss.item() == pytest.approx(np_cross_entropy(np_mlp(params, x), y), abs=1e-12)
    for layer, k in enumerate((0, 2, 4)):
        idx = some_indices(params[layer][0].shape, 4, seed=k)
        got = np.array([stack[k].weight.grad[i] for i in idx])
        assert np.allclose(got, central(f(layer, 0), params[layer][0], idx), atol=1e-8)
        got_b = stack[k].bias.grad[:3]
        assert np.allclose(got_b, central(f(layer, 1), params[layer][1], [(0,), (1,), (2,)]), atol=1e-8)


# ---- 5. beginner_source/basics/saveloadrun_tutorial.py (71d9f09f), as written -----------------------------------

class _VGG(nn.Module):  # differs: torchvision's VGG16 (138M parameters, pretrained by a download): the same layout,
    # features / avgpool / classifier with dropout, at 3 x 8 x 8 images and two convolutions.
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
                                      nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(nn.Linear(32, 16), nn.ReLU(True), nn.Dropout(p=0.5), nn.Linear(16, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg16(weights=None):
    torch.manual_seed(2024 if weights == "IMAGENET1K_V1" else int(np.random.randint(0, 1000)))
    return _VGG()


models = types.SimpleNamespace(vgg16=vgg16)


def saveloadrun_tutorial():
    import microgradseq as torch
    # differs: `import torchvision.models as models`: the stand-in above.

    model = models.vgg16(weights='IMAGENET1K_V1')
    pretrained = model.state_dict()  # test:
    torch.save(model.state_dict(), 'model_weights.pth')

    model = models.vgg16()  # we do not specify ``weights``, i.e. create untrained model
    untrained = model.state_dict()  # test:
    model.load_state_dict(torch.load('model_weights.pth'))
    model.eval()

    torch.save(model, 'model.pth')

    # differs: `model = torch.load('model.pth')`: torch.save(model, ...) saves the model's state_dict here and
    # torch.load gives that back, not a pickled module (docs/pytorch.md, "Checkpoints"); the model is built and
    # loaded, as the tutorial's first section does.
    model = models.vgg16()
    model.load_state_dict(torch.load('model.pth'))
    return pretrained, untrained, model


def test_saveloadrun_tutorial_reloads_the_pretrained_weights_twice(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pretrained, untrained, model = saveloadrun_tutorial()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pth", "model_weights.pth"]
    assert any(not np.array_equal(pretrained[k], untrained[k]) for k in pretrained)
    loaded = model.state_dict()
    assert list(loaded) == list(pretrained)
    assert all(np.array_equal(loaded[k], pretrained[k]) for k in pretrained)
    # eval mode: dropout off, so two runs agree and equal numpy's forward pass with the pretrained weights
    model.eval()
    x = np.random.default_rng(5).random((2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        out = arr(model(torch.tensor(x)))
    p = {k: v.astype(np.float64) for k, v in pretrained.items()}
    h = np_pool(np_relu(np_conv2d(x.astype(np.float64), p["features.0.weight"], p["features.0.bias"], pad=1)), 2,
                np.max)
    h = np_pool(np_relu(np_conv2d(h, p["features.3.weight"], p["features.3.bias"], pad=1)), 2, np.max)
    h = h.reshape(2, -1)                              # AdaptiveAvgPool2d((2, 2)) of a 2 x 2 map is itself
    h = np_relu(h @ p["classifier.0.weight"].T + p["classifier.0.bias"])
    assert np.allclose(out, h @ p["classifier.3.weight"].T + p["classifier.3.bias"], atol=1e-5)


# ---- 6. beginner_source/blitz/tensor_tutorial.py (1dc0de7f), as written ------------------------------------------

def blitz_tensor_tutorial():
    import microgradseq as torch

    x = torch.empty(5, 3)
    print(x)
    empty = x  # test:

    x = torch.rand(5, 3)
    print(x)

    x = torch.zeros(5, 3, dtype=torch.long)
    print(x)
    zeros_long = x  # test:

    x = torch.tensor([5.5, 3])
    print(x)
    data = x  # test:

    x = x.new_ones(5, 3, dtype=torch.double)      # new_* methods take in sizes
    print(x)
    new_ones = x  # test:

    x = torch.randn_like(x, dtype=torch.float)    # override dtype!
    print(x)                                      # result has the same size

    print(x.size())
    size = x.size()  # test:

    y = torch.rand(5, 3)
    print(x + y)
    x0, y0 = arr(x), arr(y)  # test:

    print(torch.add(x, y))

    result = torch.empty(5, 3)
    result = torch.add(x, y)  # differs: `torch.add(x, y, out=result)`: ops take no out= (docs/api.md)
    print(result)

    # adds x to y
    y.add_(x)
    print(y)
    added = arr(y)  # test:

    print(x[:, 1])
    column = x[:, 1]  # test:

    x = torch.randn(4, 4)
    y = x.view(16)
    z = x.view(-1, 8)  # the size -1 is inferred from other dimensions
    print(x.size(), y.size(), z.size())
    views = (x, y, z)  # test:

    x = torch.randn(1)
    print(x)
    print(x.item())
    item = (x, x.item())  # test:

    a = torch.ones(5)
    print(a)

    b = a.numpy()
    print(b)

    a.add_(1)
    print(a)
    print(b)
    to_numpy = (arr(a), b.copy())  # test:

    import numpy as np
    a = np.ones(5)
    b = torch.from_numpy(a)
    np.add(a, 1, out=a)
    print(a)
    print(b)
    from_numpy = (np.array(a), arr(b))  # test:

    if torch.cuda.is_available():
        device = torch.device("cuda")          # a CUDA device object
        y = torch.ones_like(x, device=device)  # directly create a tensor on GPU
        x = x.to(device)                       # or just use strings ``.to("cuda")``
        z = x + y
        print(z)
        print(z.to("cpu", torch.double))       # ``.to`` can also change dtype together!
    return locals()


def test_blitz_tensor_tutorial_runs_and_its_values_are_numpys():
    ns, text = quietly(blitz_tensor_tutorial)
    assert ns["empty"].shape == (5, 3) and ns["empty"].dtype == np.float32
    assert ns["zeros_long"].dtype == np.int64 and ns["zeros_long"].tolist() == [[0] * 3] * 5
    assert ns["data"].tolist() == [5.5, 3.0] and ns["data"].dtype == np.float32
    assert ns["new_ones"].dtype == np.float64 and ns["new_ones"].tolist() == [[1.0] * 3] * 5
    assert ns["size"] == (5, 3) and isinstance(ns["size"], tuple)
    assert np.allclose(arr(ns["result"]), ns["x0"] + ns["y0"], atol=1e-6)
    assert np.array_equal(arr(ns["column"]), ns["x0"][:, 1])
    x, y, z = ns["views"]
    assert np.array_equal(arr(y), arr(x).reshape(16)) and np.array_equal(arr(z), arr(x).reshape(2, 8))
    assert ns["item"][1] == pytest.approx(float(arr(ns["item"][0])[0])) and type(ns["item"][1]) is float
    assert "Size([5, 3])\n" in text and "Size([4, 4]) Size([16]) Size([2, 8])" in text


def test_blitz_tensor_tutorial_in_place_add_and_the_documented_numpy_bridge():
    ns, _ = quietly(blitz_tensor_tutorial)
    assert np.allclose(ns["added"], ns["x0"] + ns["y0"], atol=1e-6)     # y.add_(x): "adds x to y"
    # differs (documented): "See how the numpy array changed in value" -- here b keeps 1. (a read-only view of
    # the array a had); torch.from_numpy copies, so b stays at 1. while a becomes 2.
    a, b = ns["to_numpy"]
    assert np.array_equal(a, np.full(5, 2.0)) and np.array_equal(b, np.ones(5))
    a, b = ns["from_numpy"]
    assert np.array_equal(a, np.full(5, 2.0)) and np.array_equal(b, np.ones(5))


def test_blitz_tensor_tutorial_add_in_place_changes_y_itself():
    x = torch.randn_like(torch.ones(5, 3, dtype=torch.double), dtype=torch.float)
    y = torch.rand(5, 3)
    x0, y0 = arr(x), arr(y)
    alias = y
    y.add_(x)
    assert alias is y and np.allclose(arr(y), x0 + y0, atol=1e-6)


# ---- 7. beginner_source/blitz/neural_networks_tutorial.py (7a017bba), as written ----------------------------------

def neural_networks_tutorial(record):
    import microgradseq as torch
    import microgradseq.nn as nn
    import microgradseq.nn.functional as F

    class Net(nn.Module):

        def __init__(self):
            super(Net, self).__init__()
            # 1 input image channel, 6 output channels, 5x5 square convolution
            # kernel
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            # an affine operation: y = Wx + b
            self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, input):
            # Convolution layer C1: 1 input image channel, 6 output channels,
            # 5x5 square convolution, it uses RELU activation function, and
            # outputs a Tensor with size (N, 6, 28, 28), where N is the size of the batch
            c1 = F.relu(self.conv1(input))
            # Subsampling layer S2: 2x2 grid, purely functional,
            # this layer does not have any parameter, and outputs a (N, 16, 14, 14) Tensor
            s2 = F.max_pool2d(c1, (2, 2))
            # Convolution layer C3: 6 input channels, 16 output channels,
            # 5x5 square convolution, it uses RELU activation function, and
            # outputs a (N, 16, 10, 10) Tensor
            c3 = F.relu(self.conv2(s2))
            # Subsampling layer S4: 2x2 grid, purely functional,
            # this layer does not have any parameter, and outputs a (N, 16, 5, 5) Tensor
            s4 = F.max_pool2d(c3, 2)
            # Flatten operation: purely functional, outputs a (N, 400) Tensor
            s4 = torch.flatten(s4, 1)
            # Fully connected layer F5: (N, 400) Tensor input,
            # and outputs a (N, 120) Tensor, it uses RELU activation function
            f5 = F.relu(self.fc1(s4))
            # Fully connected layer F6: (N, 120) Tensor input,
            # and outputs a (N, 84) Tensor, it uses RELU activation function
            f6 = F.relu(self.fc2(f5))
            # Gaussian layer OUTPUT: (N, 84) Tensor input, and
            # outputs a (N, 10) Tensor
            output = self.fc3(f6)
            return output

    net = Net()
    print(net)

    params = list(net.parameters())
    print(len(params))
    print(params[0].size())  # conv1's .weight

    input = torch.randn(1, 1, 32, 32)
    out = net(input)
    print(out)

    net.zero_grad()
    v = torch.randn(1, 10)  # test: named, to check the vector-Jacobian product
    out.backward(v)  # differs: `out.backward(torch.randn(1, 10))`, the same draw kept in v
    record["vjp"] = (v, {name: p.grad for name, p in net.named_parameters()})  # test:

    output = net(input)
    target = torch.randn(10)  # a dummy target, for example
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()

    loss = criterion(output, target)
    print(loss)

    print(loss.grad_fn)  # MSELoss
    # differs: `print(loss.grad_fn.next_functions[0][0])  # Linear` and `...next_functions[0][0].next_functions[0][0]`
    # are left out: grad_fn is the library's own node, without next_functions (docs/pytorch.md, "Autodiff").

    net.zero_grad()     # zeroes the gradient buffers of all parameters

    print('conv1.bias.grad before backward')
    print(net.conv1.bias.grad)
    record["bias_grad_before"] = net.conv1.bias.grad  # test:

    loss.backward()

    print('conv1.bias.grad after backward')
    print(net.conv1.bias.grad)
    record.update(net=net, input=input, target=target, loss=loss, params=params)  # test:
    record["weights"] = lenet_params(net)  # test: before the optim block changes them
    record["grads"] = {name: p.grad for name, p in net.named_parameters()}  # test:

    # The update the text shows in a code block (`.. code:: python`):
    import microgradseq.optim as optim

    # create your optimizer
    optimizer = optim.SGD(net.parameters(), lr=0.01)

    # in your training loop:
    for _ in range(5):  # differs: the block shows one step; five, to see the loss fall
        optimizer.zero_grad()   # zero the gradient buffers
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()    # Does the update
        record.setdefault("losses", []).append(loss.item())  # test:


def lenet_params(net):
    return {name: arr(p) for name, p in net.named_parameters()}


def test_neural_networks_tutorial_runs_prints_lenet_and_the_optim_block_lowers_the_loss():
    record = {}
    _, text = quietly(neural_networks_tutorial, record)
    assert "Net(\n  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))" in text
    assert "(fc1): Linear(in_features=400, out_features=120, bias=True)" in text
    assert len(record["params"]) == 10 and record["params"][0].size() == (6, 1, 5, 5)
    assert record["bias_grad_before"] is None                          # zero_grad sets None, as PyTorch 2's
    assert "conv1.bias.grad before backward\nNone\n" in text
    losses = record["losses"]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


def test_neural_networks_tutorial_loss_and_gradients_by_central_differences_in_float64():
    torch.set_default_dtype(torch.float64)
    record = {}
    quietly(neural_networks_tutorial, record)
    p, x, target = record["weights"], arr(record["input"]), arr(record["target"])
    assert record["input"].dtype == np.float64 and p["conv1.weight"].shape == (6, 1, 5, 5)
    assert record["loss"].item() == pytest.approx(np.mean((np_lenet(p, x) - target) ** 2), abs=1e-12)

    def mse(name):
        def value(w):
            return np.mean((np_lenet({**p, name: w}, x) - target) ** 2)
        return value

    grads = record["grads"]                                       # "conv1.bias.grad after backward"
    assert np.allclose(grads["conv1.bias"], central(mse("conv1.bias"), p["conv1.bias"], [(i,) for i in range(6)]),
                       atol=1e-9)
    for name in ("conv2.weight", "fc1.weight", "fc3.bias"):
        idx = some_indices(p[name].shape, 5, seed=len(name))
        assert np.allclose([grads[name][i] for i in idx], central(mse(name), p[name], idx), atol=1e-9), name


def test_neural_networks_tutorial_backward_with_a_vector_by_central_differences_in_float64():
    torch.set_default_dtype(torch.float64)
    record = {}
    quietly(neural_networks_tutorial, record)
    p, x = record["weights"], arr(record["input"])
    v, grads = record["vjp"]
    v = arr(v)

    def vjp(name):
        def value(w):
            return (np_lenet({**p, name: w}, x) * v).sum()
        return value

    assert np.allclose(grads["fc3.bias"], v[0], atol=1e-12)                   # d(v . out)/d(fc3.bias) = v
    for name in ("conv1.weight", "conv2.bias", "fc2.weight"):
        idx = some_indices(p[name].shape, 5, seed=len(name) + 1)
        assert np.allclose([grads[name][i] for i in idx], central(vjp(name), p[name], idx), atol=1e-9), name


# ---- 8. intermediate_source/custom_function_conv_bn_tutorial.py (00e250bb), as written --------------------------

def custom_function_conv_bn_tutorial(record, epochs=2):
    import microgradseq as torch
    from microgradseq.autograd.function import once_differentiable
    import microgradseq.nn.functional as F

    def convolution_backward(grad_out, X, weight):
        grad_input = F.conv2d(X.transpose(0, 1), grad_out.transpose(0, 1)).transpose(0, 1)
        grad_X = F.conv_transpose2d(grad_out, weight)
        return grad_X, grad_input

    class Conv2D(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, weight):
            ctx.save_for_backward(X, weight)
            return F.conv2d(X, weight)

        # Use @once_differentiable by default unless we intend to double
        # backward
        @staticmethod
        @once_differentiable
        def backward(ctx, grad_out):
            X, weight = ctx.saved_tensors
            return convolution_backward(grad_out, X, weight)

    weight = torch.rand(5, 3, 3, 3, requires_grad=True, dtype=torch.double)
    X = torch.rand(10, 3, 7, 7, requires_grad=True, dtype=torch.double)
    record["gradcheck_conv"] = torch.autograd.gradcheck(Conv2D.apply, (X, weight))  # test: the call, kept
    record["Conv2D"] = Conv2D  # test:

    def unsqueeze_all(t):
        # Helper function to unsqueeze all the dimensions that we reduce over
        return t[None, :, None, None]

    def batch_norm_backward(grad_out, X, sum, sqrt_var, N, eps):
        tmp = -((X - unsqueeze_all(sum) / N) * grad_out).sum(dim=(0, 2, 3))
        d_denom = tmp / (sqrt_var + eps)**2  # d_denom = -num / denom**2
        d_var = d_denom / (2 * sqrt_var)  # denom = torch.sqrt(var) + eps
        # Compute d_mean_dx before allocating the final NCHW-sized grad_input buffer
        d_mean_dx = grad_out / unsqueeze_all(sqrt_var + eps)
        d_mean_dx = unsqueeze_all(-d_mean_dx.sum(dim=(0, 2, 3)) / N)
        # d_mean_dx has already been reassigned to a C-sized buffer so no need to worry

        # (1) unbiased_var(x) = ((X - unsqueeze_all(mean))**2).sum(dim=(0, 2, 3)) / (N - 1)
        grad_input = X * unsqueeze_all(d_var * N)
        grad_input += unsqueeze_all(-d_var * sum)
        grad_input *= 2 / ((N - 1) * N)
        # (2) mean (see above)
        grad_input += d_mean_dx
        # (3) Add 'grad_out / <factor>' without allocating an extra buffer
        grad_input *= unsqueeze_all(sqrt_var + eps)
        grad_input += grad_out
        grad_input /= unsqueeze_all(sqrt_var + eps)  # sqrt_var + eps > 0!
        return grad_input

    class BatchNorm(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, eps=1e-3):
            # Don't save keepdim'd values for backward
            sum = X.sum(dim=(0, 2, 3))
            var = X.var(unbiased=True, dim=(0, 2, 3))
            N = X.numel() / X.size(1)
            sqrt_var = torch.sqrt(var)
            ctx.save_for_backward(X)
            ctx.eps = eps
            ctx.sum = sum
            ctx.N = N
            ctx.sqrt_var = sqrt_var
            mean = sum / N
            denom = sqrt_var + eps
            return (X - unsqueeze_all(mean)) / unsqueeze_all(denom)

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_out):
            X, = ctx.saved_tensors
            return batch_norm_backward(grad_out, X, ctx.sum, ctx.sqrt_var, ctx.N, ctx.eps)

    a = torch.rand(1, 2, 3, 4, requires_grad=True, dtype=torch.double)
    record["gradcheck_bn"] = torch.autograd.gradcheck(BatchNorm.apply, (a,), fast_mode=False)  # test: kept
    record["BatchNorm"] = BatchNorm  # test:

    class FusedConvBN2DFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, X, conv_weight, eps=1e-3):
            assert X.ndim == 4  # N, C, H, W
            # (1) Only need to save this single buffer for backward!
            ctx.save_for_backward(X, conv_weight)

            # (2) Exact same Conv2D forward from example above
            X = F.conv2d(X, conv_weight)
            # (3) Exact same BatchNorm2D forward from example above
            sum = X.sum(dim=(0, 2, 3))
            var = X.var(unbiased=True, dim=(0, 2, 3))
            N = X.numel() / X.size(1)
            sqrt_var = torch.sqrt(var)
            ctx.eps = eps
            ctx.sum = sum
            ctx.N = N
            ctx.sqrt_var = sqrt_var
            mean = sum / N
            denom = sqrt_var + eps
            # Try to do as many things in-place as possible
            # Instead of `out = (X - a) / b`, doing `out = X - a; out /= b`
            # avoids allocating one extra NCHW-sized buffer here
            out = X - unsqueeze_all(mean)
            out /= unsqueeze_all(denom)
            return out

        @staticmethod
        def backward(ctx, grad_out):
            X, conv_weight, = ctx.saved_tensors
            # (4) Batch norm backward
            # (5) We need to recompute conv
            X_conv_out = F.conv2d(X, conv_weight)
            grad_out = batch_norm_backward(grad_out, X_conv_out, ctx.sum, ctx.sqrt_var,
                                           ctx.N, ctx.eps)
            # (6) Conv2d backward
            grad_X, grad_input = convolution_backward(grad_out, X, conv_weight)
            return grad_X, grad_input, None, None, None, None, None

    import microgradseq.nn as nn
    import math

    class FusedConvBN(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, exp_avg_factor=0.1,
                     eps=1e-3, device=None, dtype=None):
            super(FusedConvBN, self).__init__()
            factory_kwargs = {'device': device, 'dtype': dtype}
            # Conv parameters
            weight_shape = (out_channels, in_channels, kernel_size, kernel_size)
            self.conv_weight = nn.Parameter(torch.empty(*weight_shape, **factory_kwargs))
            # Batch norm parameters
            num_features = out_channels
            self.num_features = num_features
            self.eps = eps
            # Initialize
            self.reset_parameters()

        def forward(self, X):
            return FusedConvBN2DFunction.apply(X, self.conv_weight, self.eps)

        def reset_parameters(self) -> None:
            nn.init.kaiming_uniform_(self.conv_weight, a=math.sqrt(5))

    weight = torch.rand(5, 3, 3, 3, requires_grad=True, dtype=torch.double)
    X = torch.rand(2, 3, 4, 4, requires_grad=True, dtype=torch.double)
    record["gradcheck_fused"] = torch.autograd.gradcheck(FusedConvBN2DFunction.apply, (X, weight))  # test: kept
    record["FusedConvBN2DFunction"], record["FusedConvBN"] = FusedConvBN2DFunction, FusedConvBN  # test:

    import microgradseq.optim as optim
    # differs: `from torchvision import datasets, transforms`: the stand-ins above (made-up MNIST, 64 training
    # and 32 test images).
    from microgradseq.optim.lr_scheduler import StepLR

    class Net(nn.Module):
        def __init__(self, fused=True):
            super(Net, self).__init__()
            self.fused = fused
            if fused:
                self.convbn1 = FusedConvBN(1, 32, 3)
                self.convbn2 = FusedConvBN(32, 64, 3)
            else:
                self.conv1 = nn.Conv2d(1, 32, 3, 1, bias=False)
                self.bn1 = nn.BatchNorm2d(32, affine=False, track_running_stats=False)
                self.conv2 = nn.Conv2d(32, 64, 3, 1, bias=False)
                self.bn2 = nn.BatchNorm2d(64, affine=False, track_running_stats=False)
            self.fc1 = nn.Linear(9216, 128)
            self.dropout = nn.Dropout(0.5)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            if self.fused:
                x = self.convbn1(x)
            else:
                x = self.conv1(x)
                x = self.bn1(x)
            x = F.relu(x)
            if self.fused:
                x = self.convbn2(x)
            else:
                x = self.conv2(x)
                x = self.bn2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = F.relu(x)
            x = x.flatten(1)
            x = self.fc1(x)
            x = self.dropout(x)
            x = F.relu(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    def train(model, device, train_loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % 2 == 0:
                print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))

    def test(model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        # Use inference mode instead of no_grad, for free improved test-time performance
        with torch.inference_mode():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                # sum up batch loss
                test_loss += F.nll_loss(output, target, reduction='sum').item()
                # get the index of the max log-probability
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)

        print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))

    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    train_kwargs = {'batch_size': 16}  # differs: 2048 in the tutorial; the made-up set has 64 images
    test_kwargs = {'batch_size': 16}  # differs: 2048, likewise

    if use_cuda:
        cuda_kwargs = {'num_workers': 1,
                       'pin_memory': True,
                       'shuffle': True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,))
    ])
    dataset1 = datasets.MNIST('../data', train=True, download=True,
                              transform=transform)
    dataset2 = datasets.MNIST('../data', train=False,
                              transform=transform)
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    mems = []
    for fused in (True, False):
        torch.manual_seed(123456)
        # differs: `torch.cuda.reset_peak_memory_stats()`: the library has no CUDA memory statistics (CPU only)

        model = Net(fused=fused).to(device)
        optimizer = optim.Adadelta(model.parameters(), lr=1.0)
        scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
        print(f"== fused={fused}")  # test: a marker for the printed losses

        for epoch in range(epochs):  # differs: range(2), as a parameter (the default)
            train(model, device, train_loader, optimizer, epoch)
            test(model, device, test_loader)
            scheduler.step()

        record[f"lr_{fused}"] = optimizer.param_groups[0]["lr"]  # test:
        # differs: `mems.append(torch.cuda.max_memory_allocated(device=None) / 1024**3)`, likewise left out
    # differs: the print of `mems[0]` and `mems[1]` (the peak memory of each run) is left out with them
    return mems


@pytest.fixture(scope="module")
def conv_bn_run():
    torch.manual_seed(0)
    record = {}
    _, text = quietly(custom_function_conv_bn_tutorial, record)
    return record, text


def test_conv_bn_tutorial_gradchecks_pass_as_written(conv_bn_run):
    record, _ = conv_bn_run
    assert record["gradcheck_conv"] is True
    assert record["gradcheck_bn"] is True
    assert record["gradcheck_fused"] is True


def test_conv_bn_tutorial_forwards_are_numpys_conv_and_batch_norm(conv_bn_run):
    record, _ = conv_bn_run
    rng = np.random.default_rng(3)
    X, w = rng.random((4, 3, 6, 6)), rng.random((5, 3, 3, 3)) - 0.5
    assert np.allclose(arr(record["Conv2D"].apply(torch.tensor(X), torch.tensor(w))), np_conv2d(X, w), atol=1e-12)
    a = rng.random((3, 2, 3, 4))
    mean = a.mean(axis=(0, 2, 3), keepdims=True)
    std = np.sqrt(a.var(axis=(0, 2, 3), ddof=1, keepdims=True))
    assert np.allclose(arr(record["BatchNorm"].apply(torch.tensor(a))), (a - mean) / (std + 1e-3), atol=1e-12)
    fused = record["FusedConvBN2DFunction"].apply(torch.tensor(X), torch.tensor(w))
    assert np.allclose(arr(fused), np_conv_bn(X, w), atol=1e-12)


def test_conv_bn_tutorial_fused_layer_gradients_by_central_differences(conv_bn_run):
    record, _ = conv_bn_run
    rng = np.random.default_rng(4)
    X0, w0, g = rng.random((3, 2, 5, 5)), rng.random((4, 2, 3, 3)) - 0.5, rng.standard_normal((3, 4, 3, 3))
    X = torch.tensor(X0, requires_grad=True)
    w = torch.tensor(w0, requires_grad=True)
    (record["FusedConvBN2DFunction"].apply(X, w) * torch.tensor(g)).sum().backward()
    idx_w, idx_x = some_indices(w0.shape, 8, seed=1), some_indices(X0.shape, 8, seed=2)
    expected_w = central(lambda v: (np_conv_bn(X0, v) * g).sum(), w0, idx_w)
    expected_x = central(lambda v: (np_conv_bn(v, w0) * g).sum(), X0, idx_x)
    assert np.allclose([w.grad[i] for i in idx_w], expected_w, atol=1e-7)
    assert np.allclose([X.grad[i] for i in idx_x], expected_x, atol=1e-7)


def test_conv_bn_tutorial_fused_module_and_both_nets_train(conv_bn_run):
    record, text = conv_bn_run
    layer = record["FusedConvBN"](1, 32, 3)
    bound = 1 / math.sqrt(9)                                   # kaiming_uniform_(a=sqrt(5)): 1 / sqrt(fan_in)
    assert layer.conv_weight.shape == (32, 1, 3, 3) and np.abs(arr(layer.conv_weight)).max() <= bound
    assert [name for name, _ in layer.named_parameters()] == ["conv_weight"]
    # each run: two epochs of four batches, its losses printed at batches 0 and 2, then the test set
    tests = {}
    for fused in ("True", "False"):
        part = text.split(f"== fused={fused}")[1].split("== fused=")[0]
        train_losses = [float(v) for v in re.findall(r"Loss: ([\d.]+)", part)]
        tests[fused] = [(float(a), int(b)) for a, b in re.findall(r"Average loss: ([\d.]+), Accuracy: (\d+)/32", part)]
        assert len(train_losses) == 4 and len(tests[fused]) == 2, fused
        assert train_losses[0] == pytest.approx(math.log(10), abs=0.1)     # an untrained net's uniform guess
        assert "Train Epoch: 1 [32/64 (50%)]" in part
        (loss1, _), (loss2, correct2) = tests[fused]
        assert loss2 < loss1 and loss2 < math.log(10) - 0.5 and correct2 >= 20, (fused, tests[fused])
    # the fused layer and Conv2d + BatchNorm2d(affine=False) differ only in where eps sits and in the unbiased
    # variance, from the same seed: their nets learn alike
    assert tests["True"][-1][0] == pytest.approx(tests["False"][-1][0], abs=0.1)
    assert record["lr_True"] == pytest.approx(0.49) and record["lr_False"] == pytest.approx(0.49)   # StepLR 0.7^2


# ---- 9. intermediate_source/autograd_saved_tensors_hooks_tutorial.py (4a7bbb95), its first cells -----------------

def saved_tensors_hooks_tutorial_first_cells():
    import microgradseq as torch

    a = torch.randn(5, requires_grad=True)
    b = torch.ones(5, requires_grad=True)
    y = a * b
    first = (a, b, y)  # test:

    # differs: `print(y.grad_fn._saved_self)` and `print(y.grad_fn._saved_other)`, and everything after the next
    # cell, are left out: grad_fn has no `_saved_*` attributes (docs/pytorch.md, "Autodiff"), and the library has
    # no `torch.autograd.graph.saved_tensors_hooks` / `save_on_cpu` nor `nn.DataParallel`.

    def f(x):
        return x * x

    x = torch.randn(5, requires_grad=True)
    y = f(f(f(x)))
    return first, (x, y)


def test_saved_tensors_hooks_tutorial_first_cells_have_their_closed_form_gradients():
    (a, b, y), (x, y8) = saved_tensors_hooks_tutorial_first_cells()
    y.sum().backward()
    assert np.array_equal(a.grad, arr(b)) and np.array_equal(b.grad, arr(a))   # dy/da = b, dy/db = a
    y8.sum().backward()
    assert np.allclose(arr(y8), arr(x) ** 8, rtol=1e-5)
    assert np.allclose(x.grad, 8 * arr(x) ** 7, rtol=1e-4, atol=1e-6)

"""A module's forward hooks, PyTorch's `register_forward_pre_hook` and `register_forward_hook`
(nn/module_hooks.py). Expected values are closed forms of a Linear layer written out in numpy."""

import numpy as np
import pytest

import microgradseq as mg


def linear():
    layer = mg.nn.Linear(2, 3, dtype=np.float64, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((4, 2))
    return layer, x, layer.weight.data, layer.bias.data


def test_a_forward_hook_sees_the_module_its_arguments_and_output_and_may_replace_the_output():
    layer, x, W, b = linear()
    seen = []
    layer.register_forward_hook(lambda m, args, out: seen.append((m, args[0].numpy(), out.numpy())))
    layer.register_forward_hook(lambda m, args, out: out * 2)
    y = layer(mg.tensor(x))
    assert seen[0][0] is layer
    np.testing.assert_array_equal(seen[0][1], x)
    np.testing.assert_allclose(seen[0][2], x @ W.T + b, rtol=1e-14)
    np.testing.assert_allclose(y.data, 2 * (x @ W.T + b), rtol=1e-14)


def test_a_pre_hook_may_replace_the_arguments_a_tuple_or_one_value_and_gradients_flow_through_it():
    layer, x, W, b = linear()
    layer.register_forward_pre_hook(lambda m, args: (args[0] * 3,))
    layer.register_forward_pre_hook(lambda m, args: args[0] + 1)           # one value: the one argument
    xt = mg.tensor(x, requires_grad=True)
    y = layer(xt)
    np.testing.assert_allclose(y.data, (3 * x + 1) @ W.T + b, rtol=1e-14)
    y.sum().backward()
    np.testing.assert_allclose(xt.grad, 3 * np.ones((4, 3)) @ W, rtol=1e-14)


def test_hooks_run_in_order_prepend_first_and_with_kwargs_they_get_the_keyword_arguments():
    class Scale(mg.nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    module, log = Scale(), []
    module.register_forward_pre_hook(lambda m, args: log.append("pre a"))
    module.register_forward_pre_hook(lambda m, args: log.append("pre b"), prepend=True)
    module.register_forward_pre_hook(lambda m, args, kwargs: (args, {"factor": kwargs["factor"] * 10}),
                                     with_kwargs=True)
    module.register_forward_hook(lambda m, args, kwargs, out: log.append(("post", kwargs)), with_kwargs=True)
    y = module(mg.tensor([1.0, 2.0]), factor=2.0)
    np.testing.assert_array_equal(y.data, [20.0, 40.0])
    assert log == ["pre b", "pre a", ("post", {"factor": 20.0})]


def test_a_removed_hook_no_longer_runs_and_a_module_without_hooks_computes_the_same():
    layer, x, W, b = linear()
    calls = []
    handle = layer.register_forward_hook(lambda m, args, out: calls.append(1) or out * 0)
    with layer.register_forward_pre_hook(lambda m, args: calls.append(0)):
        layer(mg.tensor(x))
    handle.remove()
    y = layer(mg.tensor(x))
    assert calls == [0, 1]
    np.testing.assert_allclose(y.data, x @ W.T + b, rtol=1e-14)
    assert isinstance(handle, mg.utils.hooks.RemovableHandle)


def test_a_hook_always_called_runs_when_forward_raises_and_the_forwards_error_is_raised():
    layer, _, _, _ = linear()
    calls = []
    layer.register_forward_hook(lambda m, args, out: calls.append(out), always_call=True)
    layer.register_forward_hook(lambda m, args, out: calls.append("not this one"))
    with pytest.raises(ValueError):
        layer(mg.tensor(np.ones((4, 5))))           # 5 features where 2 are expected
    assert calls == [None]


def test_recording_activation_statistics_per_layer_as_the_fastai_course_does():
    """fast.ai's `Hooks`: a forward hook on each layer appends the mean and std of its output."""
    rng = np.random.default_rng(2)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4, dtype=np.float64, rng=rng), mg.nn.Tanh(),
                             mg.nn.Linear(4, 2, dtype=np.float64, rng=rng))
    stats = {i: [] for i in range(3)}
    handles = [layer.register_forward_hook(lambda m, args, out, i=i: stats[i].append(
        (float(out.mean()), float(out.std())))) for i, layer in enumerate(model)]
    x = rng.standard_normal((5, 3))
    model(mg.tensor(x))
    a1 = x @ model[0].weight.data.T + model[0].bias.data
    a2 = np.tanh(a1)
    a3 = a2 @ model[2].weight.data.T + model[2].bias.data
    for i, a in enumerate((a1, a2, a3)):
        np.testing.assert_allclose(stats[i][0], (a.mean(), a.std(ddof=1)), rtol=1e-12)
    for handle in handles:
        handle.remove()
    model(mg.tensor(x))
    assert all(len(s) == 1 for s in stats.values())


def test_bad_hooks_are_errors_naming_the_method():
    layer, x, _, _ = linear()
    with pytest.raises(TypeError, match="Linear.register_forward_hook: expected a function, got int"):
        layer.register_forward_hook(3)
    with pytest.raises(ValueError, match="Linear.register_forward_pre_hook: prepend must be True or False"):
        layer.register_forward_pre_hook(lambda m, a: None, prepend="yes")
    layer.register_forward_pre_hook(lambda m, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"Linear: a forward pre-hook with_kwargs must return None or "
                                           r"\(args, kwargs\), got int"):
        layer(mg.tensor(x))

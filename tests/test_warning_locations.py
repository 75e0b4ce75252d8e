"""Every warning the library gives points at the user's line, however deep in the library it is
raised and by whichever path it is reached (a method, a module's forward, a container): a fixed
`stacklevel` is right for one path only (`checks.user_stacklevel` walks out of the library)."""

import warnings

import pytest

import microgradseq as mg

F = mg.nn.functional

PATHS = {
    "var by the function (through function_forms)": lambda: mg.var(mg.ones(1)),
    "var by the method": lambda: mg.ones(1).var(),
    "std by the method (through var)": lambda: mg.ones(1).std(),
    "kl_div by the function": lambda: F.kl_div(mg.zeros(2, 2), mg.zeros(2, 2)),
    "kl_div by nn.KLDivLoss": lambda: mg.nn.KLDivLoss()(mg.zeros(2, 2), mg.zeros(2, 2)),
    "LSTM dropout with one layer (through RNNBase)": lambda: mg.nn.LSTM(2, 3, dropout=0.5),
    "meshgrid without indexing": lambda: mg.meshgrid(mg.ones(2), mg.ones(2)),
    "clip_grad_norm (deprecated)": lambda: mg.nn.utils.clip_grad_norm([mg.ones(2, requires_grad=True)], 1.0),
    "clip_grad_norm_ of an empty generator": lambda: mg.nn.utils.clip_grad_norm_((p for p in []), 1.0),
    "Variable(volatile=True)": lambda: mg.autograd.Variable(mg.ones(2), volatile=True),
    "state_dict with positional arguments": lambda: mg.nn.Linear(2, 2).state_dict({}, ""),
    "softmin without dim": lambda: F.softmin(mg.ones(2, 2)),
    "softmax of a 3-d input without dim": lambda: F.softmax(mg.ones(2, 2, 2)),
    "nn.Softmax without dim": lambda: mg.nn.Softmax()(mg.ones(2, 2)),
    "nn.Softmax without dim inside nn.Sequential": lambda: mg.nn.Sequential(mg.nn.Softmax())(mg.ones(2, 2)),
    "nn.LogSoftmax without dim inside nn.Sequential": lambda: mg.nn.Sequential(mg.nn.LogSoftmax())(mg.ones(2, 2)),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_the_warning_names_the_users_file_and_line(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PATHS[path]()
    assert caught, f"{path}: expected a warning"
    for warning in caught:
        assert warning.filename == __file__, (path, warning.filename, str(warning.message))

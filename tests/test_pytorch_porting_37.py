"""Porting, round 37: training scripts that use what the library added today (ConvTranspose1d/2d, BatchNorm2d,
nn.Upsample, ReflectionPad2d with InstanceNorm2d, the distributions OneHotCategorical, MixtureSameFamily,
Independent, MultivariateNormal, TransformedDistribution with SigmoidTransform, nn.RNNBase). Each script is
written as its author wrote it, with only the imports changed (`# differs:` marks each other change and why);
sizes and step counts are small and the data is made up:

1. pytorch/examples dcgan/main.py (13caa078cd69d74ffb447a9eda09f0a81b809480): `weights_init` by class name
   (it matches ConvTranspose2d and BatchNorm2d), the `Generator` (five ConvTranspose2d, BatchNorm2d, ReLU,
   Tanh) and `Discriminator` (Conv2d, LeakyReLU, BatchNorm2d, Sigmoid), BCELoss, the two Adam optimizers, the
   training loop with `torch.full` labels and `label.fill_`, `--dry-run`, `save_image` and the checkpoints, and
   resuming with `--netG`/`--netD`; 64 x 64 images (the architecture's size), ngf = ndf = 4, nz = 8.
2. pytorch/examples fast_neural_style/neural_style/transformer_net.py
   (01c54ac947b7e5c78ded229c171b8b282886be31): `TransformerNet`, `ConvLayer` (ReflectionPad2d + Conv2d),
   `ResidualBlock` (InstanceNorm2d, affine), `UpsampleConvLayer` (nn.Upsample, nearest, scale_factor=2).
   And milesial/Pytorch-UNet unet/unet_parts.py (abe3e089d80c1087a276bad91386215a32268526) with
   unet/unet_model.py (0203cad948f83be27747bec4d422a5681ecfa8f2): `DoubleConv`, `Down` (MaxPool2d),
   `Up` (Upsample bilinear with align_corners=True, or ConvTranspose2d; `F.pad` to the skip's size;
   `torch.cat`), `OutConv`, `UNet`. The index's revision of unet_model.py widens `up4` to 64 * factor, which
   fits an older unet_parts.py than the one stored: with bilinear=True the two stored files do not fit
   together (in PyTorch too), so the whole network runs with bilinear=False, and the bilinear `Up` alone.
3. tonyduan/mixture-density-network mdn/models.py and examples/ex_1d.py
   (68b08b2a195f8af992b473192174dda133b93809): `MixtureDensityNetwork` with `CategoricalNetwork`
   (`OneHotCategorical(logits=...)`) and `MixtureDiagNormalNetwork` (`Normal` of split, stacked, transposed
   parameters), `loss` (`expand_as`, `logsumexp`), `sample`, and the example's `gen_data` and Adam loop; its
   loss is also checked against `MixtureSameFamily(Categorical, Independent(Normal, 1))`.
4. karpathy/pytorch-normalizing-flows nflib/flows.py (8153fa04dc0878011e00fbe0d86f54e2b7c97839), nflib/nets.py
   (ac30aa077b74ad1da2c08b68798c9e1747cbb2bd) and nflib1.ipynb (4f1fa276ade199f3f503bf24d9e7141d2955cd2b):
   `AffineConstantFlow`, `ActNorm` (data-dependent init through `.data =`), `AffineHalfFlow` (RealNVP: item
   assignment into strided columns), `NormalizingFlow`, `NormalizingFlowModel`, `MLP`, `LeafParam`; the
   notebook's moons, its logistic prior `TransformedDistribution(Uniform(0, 1), SigmoidTransform().inv)` and its
   commented `MultivariateNormal` prior, its Adam (lr 1e-4, weight decay) and training loop.
5. aprameyap/vibratiq model/model.py, model/dataset.py, model/train.py (1c85f29c7f6803c061b601c1afe687149503fb8d)
   and config.py (804f975cbf0d2109dfdc205fb6b45a1ee2bb8997): the Conv1d + ConvTranspose1d (output_padding)
   `Autoencoder1D` of vibration windows, `BearingDataset` (`torch.load`), `train` (validation, best-model
   checkpoint). With peppe9927/VRAE VRAE/utils/xavier_norm.py (e26837b452a0d024541c2e5d304ae87497d95f0c), a
   `weights_init` that picks layers by `isinstance` (Linear; GRU, LSTM, RNN; Conv1d), applied with `apply`.

Every source was found in the index and read there: none was written from memory.

What broke (two gaps, both fixed with this round; the tests check PyTorch's behaviour):

  G1. `from torch.distributions import SigmoidTransform` (nflib1.ipynb's first cell) raised ImportError:
      the transforms were only in `microgradseq.distributions.transforms`. PyTorch's torch/distributions/
      __init__.py does `from .transforms import *` and `__all__.extend(transforms.__all__)`, so every
      transform is a name of torch.distributions too; now so here.
  G2. U-Net's `Up.forward` pads with `F.pad(x1, [diffX // 2, diffX - diffX // 2, ...])` where diffX is
      `torch.tensor([n])`: `F.pad` raised "ValueError: pad: expected an even number of integers";
      PyTorch's argument parser (torch/csrc/utils/python_arg_parser.cpp, `is_int_or_symint`) takes a tensor of
      one integral element as an int in an int list, and so does `F.pad` now.

Met and left as documented in docs/pytorch.md (the lines say `differs:`):

  - `torch.Tensor(x)` of ex_1d.py's float64 numpy arrays stays float64 here (float32 in PyTorch), so the
    float32 network would refuse it: `.float()` added.
  - `torch.Tensor(1, n)` with sizes (nets.py's `LeafParam`) is refused: `torch.zeros(1, n)`.

Noticed and left alone:
  - the stored unet_model.py and unet_parts.py revisions disagree on the bilinear widths (see 2 above).
  - `ActNorm`'s `self.s.data = <float32 tensor>` on a float64 parameter is refused here ("Tensor.data:
    expected an array of shape (1, 2) and dtype float64"); it only arises when the notebook's float32 moons
    meet a float64 default, which the port does not do, so it is not tested.

Names the library lacks (not gaps; each line that uses one says `differs:`): `torch.nn.parallel`
(`data_parallel`, reached only with more than one GPU); the third-party torchvision (FakeData, save_image),
sklearn (`make_moons`) and the repositories' own loggers are stand-ins.

Expected values in the tests come from numpy written here (transposed and plain convolutions in 1-d and 2-d,
batch and instance norm, reflection padding, nearest and bilinear align_corners upsampling, the generator and
discriminator, the mixture's log-likelihood, the logistic and normal log-densities, the RealNVP couplings and
ActNorm, the autoencoder), closed forms (xavier bounds, orthogonality, parameter counts by hand), central
finite differences of that numpy in float64, and the made-up data; never from the library itself.
"""

import argparse
import itertools
import logging
import os
import random

import numpy as np
import pytest
from porting_references import central, np_sigmoid, some_indices

import microgradseq as torch
import microgradseq.backends.cudnn as cudnn
import microgradseq.nn as nn
import microgradseq.optim as optim
import microgradseq.utils.data
from microgradseq import distributions
from microgradseq.distributions import MultivariateNormal, Normal, OneHotCategorical, TransformedDistribution, Uniform
from microgradseq.distributions import SigmoidTransform
from microgradseq.utils.data import DataLoader, Dataset


def state_arrays(module):
    return {k: np.array(v, dtype=np.float64) if np.array(v).dtype.kind == "f" else np.array(v)
            for k, v in module.state_dict().items()}


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_conv2d(x, w, stride=1, padding=0, bias=None):
    """x (N, C, H, W), w (O, C, k, k): PyTorch's cross-correlation."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    k = w.shape[2]
    ho = (x.shape[2] - k) // stride + 1
    wo = (x.shape[3] - k) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for i in range(k):
        for j in range(k):
            patch = x[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def np_conv_transpose2d(x, w, stride=1, padding=0):
    """x (N, C, H, W), w (C, O, k, k): the scatter form of PyTorch's transposed convolution."""
    n, _, h, wd = x.shape
    k = w.shape[2]
    full = np.zeros((n, w.shape[1], (h - 1) * stride + k, (wd - 1) * stride + k))
    for i in range(k):
        for j in range(k):
            full[:, :, i:i + stride * (h - 1) + 1:stride, j:j + stride * (wd - 1) + 1:stride] += \
                np.einsum("nchw,co->nohw", x, w[:, :, i, j])
    return full[:, :, padding:full.shape[2] - padding, padding:full.shape[3] - padding]


def np_conv1d(x, w, bias, stride=1, padding=0):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    k = w.shape[2]
    lo = (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], lo))
    for i in range(k):
        out += np.einsum("ncl,oc->nol", x[:, :, i:i + stride * (lo - 1) + 1:stride], w[:, :, i])
    return out + bias[None, :, None]


def np_conv_transpose1d(x, w, bias, stride=1, padding=0, output_padding=0):
    n, _, length = x.shape
    k = w.shape[2]
    full = np.zeros((n, w.shape[1], (length - 1) * stride + k + output_padding))
    for i in range(k):
        full[:, :, i:i + stride * (length - 1) + 1:stride] += np.einsum("ncl,co->nol", x, w[:, :, i])
    out = full[:, :, padding:(length - 1) * stride - 2 * padding + k + output_padding + padding]
    return out + bias[None, :, None]


def np_batch_norm(x, weight, bias, eps=1e-5):
    """Training-mode BatchNorm2d: the batch's mean and biased variance over (N, H, W)."""
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight[None, :, None, None] + bias[None, :, None, None]


def np_instance_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight[None, :, None, None] + bias[None, :, None, None]


def np_bce(p, y):
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def np_leaky(z, slope):
    return np.where(z > 0, z, slope * z)


def np_elu(z):
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))


def np_logsumexp(z, axis):
    m = z.max(axis, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis, keepdims=True))).squeeze(axis)


# ==== 1. pytorch/examples dcgan/main.py, as written ========================================================
# differs: the script's `import torch.nn.parallel` (not here; data_parallel is reached only on more than one
# GPU) and torchvision's datasets, transforms and utils (stand-ins below) are left out; `torch.backends.cudnn`,
# `torch.optim` and `torch.utils.data` are this file's imports

class dset:  # differs: torchvision.datasets is not here; FakeData's made-up images, ToTensor's layout
    class FakeData(Dataset):
        def __init__(self, image_size, transform=None, size=8):
            rng = np.random.default_rng(0)
            # a "real" image: a smooth bright square on a dark field, with a little noise, in [0, 1]
            base = np.zeros(image_size, np.float32)
            s = image_size[1]
            base[:, s // 4:3 * s // 4, s // 4:3 * s // 4] = 0.9
            self.images = np.clip(base + 0.05 * rng.random((size,) + image_size), 0, 1).astype(np.float32)

        def __len__(self):
            return len(self.images)

        def __getitem__(self, index):
            return torch.from_numpy(self.images[index]), 0


class vutils:  # differs: torchvision.utils.save_image; the images kept for the test
    saved = {}

    @staticmethod
    def save_image(tensor, filename, normalize=False):
        vutils.saved[os.path.basename(filename)] = np.array(tensor.detach(), dtype=np.float64)


def dcgan_main(argv, record=None):  # differs: the script's top level, wrapped so that the test can run it
    parser = argparse.ArgumentParser()
    parser.add_argument('--dataset', required=True, help='cifar10 | lsun | mnist |imagenet | folder | lfw | fake')
    parser.add_argument('--dataroot', required=False, help='path to dataset')
    parser.add_argument('--workers', type=int, help='number of data loading workers', default=2)
    parser.add_argument('--batchSize', type=int, default=64, help='input batch size')
    parser.add_argument('--imageSize', type=int, default=64, help='the height / width of the input image to network')
    parser.add_argument('--nz', type=int, default=100, help='size of the latent z vector')
    parser.add_argument('--ngf', type=int, default=64)
    parser.add_argument('--ndf', type=int, default=64)
    parser.add_argument('--niter', type=int, default=25, help='number of epochs to train for')
    parser.add_argument('--lr', type=float, default=0.0002, help='learning rate, default=0.0002')
    parser.add_argument('--beta1', type=float, default=0.5, help='beta1 for adam. default=0.5')
    parser.add_argument('--cuda', action='store_true', default=False, help='enables cuda')
    parser.add_argument('--dry-run', action='store_true', help='check a single training cycle works')
    parser.add_argument('--ngpu', type=int, default=1, help='number of GPUs to use')
    parser.add_argument('--netG', default='', help="path to netG (to continue training)")
    parser.add_argument('--netD', default='', help="path to netD (to continue training)")
    parser.add_argument('--outf', default='.', help='folder to output images and model checkpoints')
    parser.add_argument('--manualSeed', type=int, help='manual seed')
    parser.add_argument('--classes', default='bedroom', help='comma separated list of classes for the lsun data set')
    parser.add_argument('--mps', action='store_true', default=False, help='enables macOS GPU training')

    opt = parser.parse_args(argv)  # differs: the test's arguments, not sys.argv
    print(opt)

    try:
        os.makedirs(opt.outf)
    except OSError:
        pass

    if opt.manualSeed is None:
        opt.manualSeed = random.randint(1, 10000)
    print("Random Seed: ", opt.manualSeed)
    random.seed(opt.manualSeed)
    torch.manual_seed(opt.manualSeed)

    cudnn.benchmark = True

    if torch.cuda.is_available() and not opt.cuda:
        print("WARNING: You have a CUDA device, so you should probably run with --cuda")

    if torch.backends.mps.is_available() and not opt.mps:
        print("WARNING: You have mps device, to enable macOS GPU run with --mps")

    if opt.dataroot is None and str(opt.dataset).lower() != 'fake':
        raise ValueError("`dataroot` parameter is required for dataset \"%s\"" % opt.dataset)

    # differs: the imagenet/folder/lfw, lsun, cifar10 and mnist branches (torchvision datasets) left out
    if opt.dataset == 'fake':
        dataset = dset.FakeData(image_size=(3, opt.imageSize, opt.imageSize))  # differs: transform=ToTensor()
        nc=3

    assert dataset
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=opt.batchSize,
                                             shuffle=True, num_workers=int(opt.workers))
    use_mps = opt.mps and torch.backends.mps.is_available()
    if opt.cuda:
        device = torch.device("cuda:0")
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")

    ngpu = int(opt.ngpu)
    nz = int(opt.nz)
    ngf = int(opt.ngf)
    ndf = int(opt.ndf)


    # custom weights initialization called on netG and netD
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Conv') != -1:
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
        elif classname.find('BatchNorm') != -1:
            torch.nn.init.normal_(m.weight, 1.0, 0.02)
            torch.nn.init.zeros_(m.bias)


    class Generator(nn.Module):
        def __init__(self, ngpu):
            super(Generator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is Z, going into a convolution
                nn.ConvTranspose2d(     nz, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                # state size. (ngf*8) x 4 x 4
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                # state size. (ngf*4) x 8 x 8
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                # state size. (ngf*2) x 16 x 16
                nn.ConvTranspose2d(ngf * 2,     ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                # state size. (ngf) x 32 x 32
                nn.ConvTranspose2d(    ngf,      nc, 4, 2, 1, bias=False),
                nn.Tanh()
                # state size. (nc) x 64 x 64
            )

        def forward(self, input):
            if input.is_cuda and self.ngpu > 1:
                output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))  # differs: never reached
            else:
                output = self.main(input)
            return output


    netG = Generator(ngpu).to(device)
    netG.apply(weights_init)
    if opt.netG != '':
        netG.load_state_dict(torch.load(opt.netG))
    print(netG)


    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super(Discriminator, self).__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(
                # input is (nc) x 64 x 64
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf) x 32 x 32
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*2) x 16 x 16
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*4) x 8 x 8
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                # state size. (ndf*8) x 4 x 4
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
                nn.Sigmoid()
            )

        def forward(self, input):
            if input.is_cuda and self.ngpu > 1:
                output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))  # differs: never reached
            else:
                output = self.main(input)

            return output.view(-1, 1).squeeze(1)


    netD = Discriminator(ngpu).to(device)
    netD.apply(weights_init)
    if opt.netD != '':
        netD.load_state_dict(torch.load(opt.netD))
    print(netD)

    criterion = nn.BCELoss()

    fixed_noise = torch.randn(opt.batchSize, nz, 1, 1, device=device)
    real_label = 1
    fake_label = 0

    # setup optimizer
    optimizerD = optim.Adam(netD.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=opt.lr, betas=(opt.beta1, 0.999))

    if record is not None:  # differs: the models kept for the test
        record.update(netG=netG, netD=netD, optimizerD=optimizerD, optimizerG=optimizerG, criterion=criterion,
                      dataloader=dataloader, nz=nz, history=[])
    if opt.dry_run:
        opt.niter = 1

    for epoch in range(opt.niter):
        for i, data in enumerate(dataloader, 0):
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            # train with real
            netD.zero_grad()
            real_cpu = data[0].to(device)
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label,
                               dtype=real_cpu.dtype, device=device)

            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            # train with fake
            noise = torch.randn(batch_size, nz, 1, 1, device=device)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()

            print('[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f'
                  % (epoch, opt.niter, i, len(dataloader),
                     errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
            if record is not None:  # differs: kept for the test
                record["history"].append((errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
            if i % 100 == 0:
                vutils.save_image(real_cpu,
                        '%s/real_samples.png' % opt.outf,
                        normalize=True)
                fake = netG(fixed_noise)
                vutils.save_image(fake.detach(),
                        '%s/fake_samples_epoch_%03d.png' % (opt.outf, epoch),
                        normalize=True)

            if opt.dry_run:
                break
        # do checkpointing
        torch.save(netG.state_dict(), '%s/netG_epoch_%d.pth' % (opt.outf, epoch))
        torch.save(netD.state_dict(), '%s/netD_epoch_%d.pth' % (opt.outf, epoch))


DCGAN_ARGS = ['--dataset', 'fake', '--batchSize', '4', '--nz', '8', '--ngf', '4', '--ndf', '4',
              '--niter', '2', '--manualSeed', '7', '--workers', '0']


def quiet(fn, *args, **kwargs):
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()) as out:
        result = fn(*args, **kwargs)
    return result, out.getvalue()


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    outf = str(tmp_path_factory.mktemp("dcgan"))
    record = {}
    _, printed = quiet(dcgan_main, DCGAN_ARGS + ['--outf', outf], record)
    return record, printed, outf


def test_dcgan_main_runs_as_written_saves_images_and_checkpoints(dcgan_run):
    record, printed, outf = dcgan_run
    assert len(record["history"]) == 4  # two epochs of two batches of four made-up 64 x 64 images
    assert "Loss_D" in printed and "Random Seed:  7" in printed and "ConvTranspose2d(8, 32" in printed
    for name in ("netG_epoch_0.pth", "netG_epoch_1.pth", "netD_epoch_1.pth"):
        assert os.path.exists(os.path.join(outf, name))
    assert vutils.saved["fake_samples_epoch_001.png"].shape == (4, 3, 64, 64)
    fake = vutils.saved["fake_samples_epoch_001.png"]
    assert np.all(np.abs(fake) < 1)  # Tanh
    for errD, errG, D_x, D_G_z1, D_G_z2 in record["history"]:
        assert 0 < D_x < 1 and 0 < D_G_z1 < 1 and 0 < D_G_z2 < 1 and errD > 0 and errG > 0
    # weights_init: classname.find('Conv') matches ConvTranspose2d too, so every convolution has std 0.02
    netG = record["netG"]
    for m in netG.main:
        if m.__class__.__name__ == 'ConvTranspose2d':
            assert m.bias is None and abs(float(np.std(np.array(m.weight.detach()))) - 0.02) < 0.01


def test_dcgan_resumes_from_its_checkpoints(dcgan_run, tmp_path):
    record, _, outf = dcgan_run
    saved = torch.load(os.path.join(outf, 'netG_epoch_1.pth'))
    again = {}
    quiet(dcgan_main, DCGAN_ARGS + ['--outf', str(tmp_path), '--dry-run',
                                    '--netG', os.path.join(outf, 'netG_epoch_1.pth'),
                                    '--netD', os.path.join(outf, 'netD_epoch_1.pth')], again)
    assert len(again["history"]) == 1
    # the run before its one step started from the saved weights: Adam's first step moves each by at most ~lr
    for k, v in again["netG"].state_dict().items():
        if k.endswith("weight"):
            assert np.max(np.abs(np.array(v) - np.array(saved[k]))) <= 2.5e-4


def np_generator(p, z):
    h = z
    for i, (stride, pad) in enumerate([(1, 0), (2, 1), (2, 1), (2, 1)]):
        h = np_conv_transpose2d(h, p['main.%d.weight' % (3 * i)], stride, pad)
        h = np.maximum(np_batch_norm(h, p['main.%d.weight' % (3 * i + 1)], p['main.%d.bias' % (3 * i + 1)]), 0)
    return np.tanh(np_conv_transpose2d(h, p['main.12.weight'], 2, 1))


def np_discriminator(p, x):
    h = np_leaky(np_conv2d(x, p['main.0.weight'], 2, 1), 0.2)
    for conv, bn in ((2, 3), (5, 6), (8, 9)):
        h = np_leaky(np_batch_norm(np_conv2d(h, p['main.%d.weight' % conv], 2, 1),
                                   p['main.%d.weight' % bn], p['main.%d.bias' % bn]), 0.2)
    return np_sigmoid(np_conv2d(h, p['main.11.weight'], 1, 0)).reshape(-1)


def test_dcgan_generator_and_discriminator_are_numpys_in_value_and_gradient(dcgan_run, float64_default):
    record, _, _ = dcgan_run
    netG, netD, criterion = record["netG"], record["netD"], record["criterion"]
    pg, pd = state_arrays(netG), state_arrays(netD)
    netG64 = type(netG)(1)
    netD64 = type(netD)(1)
    netG64.load_state_dict(pg)
    netD64.load_state_dict(pd)
    rng = np.random.default_rng(3)
    z = rng.normal(size=(3, 8, 1, 1))
    fake = netG64(torch.tensor(z))
    assert fake.dtype == torch.float64 and fake.shape == (3, 3, 64, 64)
    np.testing.assert_allclose(np.array(fake.detach()), np_generator(pg, z), rtol=1e-9, atol=1e-12)
    out = netD64(fake)
    np.testing.assert_allclose(np.array(out.detach()), np_discriminator(pd, np_generator(pg, z)), rtol=1e-9)
    # the generator's loss, errG = BCE(D(G(z)), 1), and its gradient in G's first and last transposed kernels
    errG = criterion(out, torch.full((3,), 1, dtype=torch.float64))
    netG64.zero_grad()
    errG.backward()
    assert abs(errG.item() - np_bce(np_discriminator(pd, np_generator(pg, z)), 1.0)) < 1e-10
    for name in ('main.0.weight', 'main.12.weight', 'main.4.weight'):
        def loss_of(w, name=name):
            q = dict(pg)
            q[name] = w
            return np_bce(np_discriminator(pd, np_generator(q, z)), 1.0)
        idx = some_indices(pg[name].shape, 3, 11)
        grad = np.array(dict(netG64.named_parameters())[name].grad)
        np.testing.assert_allclose([grad[i] for i in idx], central(loss_of, pg[name], idx), rtol=1e-5, atol=1e-9)


def test_dcgan_each_update_lowers_its_own_loss(dcgan_run):
    """(1) D's Adam step lowers errD on the batch it was taken on; (2) G's step lowers errG for that D."""
    record, _, _ = dcgan_run
    netG, netD, criterion = record["netG"], record["netD"], record["criterion"]
    optimizerD, optimizerG = record["optimizerD"], record["optimizerG"]
    torch.manual_seed(5)
    real = next(iter(record["dataloader"]))[0]
    noise = torch.randn(4, 8, 1, 1)
    ones, zeros = torch.full((4,), 1.0), torch.full((4,), 0.0)

    def errD():
        return criterion(netD(real), ones) + criterion(netD(netG(noise).detach()), zeros)

    before = []
    for _ in range(5):
        netD.zero_grad()
        loss = errD()
        before.append(loss.item())
        loss.backward()
        optimizerD.step()
    assert before[-1] < before[0] and all(b < a + 1e-6 for a, b in zip(before, before[1:]))
    gen = []
    for _ in range(5):
        netG.zero_grad()
        loss = criterion(netD(netG(noise)), ones)
        gen.append(loss.item())
        loss.backward()
        optimizerG.step()
    assert gen[-1] < gen[0]


# ==== 2. pytorch/examples fast_neural_style/neural_style/transformer_net.py, as written ====================

class TransformerNet(torch.nn.Module):
    def __init__(self):
        super(TransformerNet, self).__init__()
        # Initial convolution layers
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(128, affine=True)
        # Residual layers
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        # Upsampling Layers
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        # Non-linearities
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.res3(y)
        y = self.res4(y)
        y = self.res5(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    """ResidualBlock
    introduced in: https://arxiv.org/abs/1512.03385
    recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html
    """

    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    """UpsampleConvLayer
    Upsamples the input and then does a convolution. This method gives better results
    compared to ConvTranspose2d.
    ref: http://distill.pub/2016/deconv-checkerboard/
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        if upsample:
            self.upsample_layer = torch.nn.Upsample(mode='nearest', scale_factor=upsample)
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = self.upsample_layer(x_in)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


def np_conv_layer(p, name, x, k, stride):
    x = np.pad(x, ((0, 0), (0, 0), (k // 2, k // 2), (k // 2, k // 2)), mode="reflect")
    return np_conv2d(x, p[name + ".conv2d.weight"], stride, 0, p[name + ".conv2d.bias"])


def np_in(p, name, x):
    return np_instance_norm(x, p[name + ".weight"], p[name + ".bias"])


def np_transformer_net(p, X):
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    y = relu(np_in(p, "in1", np_conv_layer(p, "conv1", X, 9, 1)))
    y = relu(np_in(p, "in2", np_conv_layer(p, "conv2", y, 3, 2)))
    y = relu(np_in(p, "in3", np_conv_layer(p, "conv3", y, 3, 2)))
    for r in range(1, 6):
        out = relu(np_in(p, "res%d.in1" % r, np_conv_layer(p, "res%d.conv1" % r, y, 3, 1)))
        y = np_in(p, "res%d.in2" % r, np_conv_layer(p, "res%d.conv2" % r, out, 3, 1)) + y
    for d, n in (("deconv1", "in4"), ("deconv2", "in5")):
        up = y.repeat(2, axis=2).repeat(2, axis=3)          # nearest, scale_factor=2
        y = relu(np_in(p, n, np_conv_layer(p, d, up, 3, 1)))
    return np_conv_layer(p, "deconv3", y, 9, 1)


def test_transformer_net_runs_as_written_and_keeps_the_image_size():
    torch.manual_seed(0)
    net = TransformerNet()
    assert sum(p.numel() for p in net.parameters()) == 1679235  # counted by hand from the layer sizes
    x = torch.rand(2, 3, 12, 12)
    y = net(x)
    assert y.shape == (2, 3, 12, 12) and y.dtype == torch.float32
    up = net.deconv1.upsample_layer
    assert isinstance(up, torch.nn.Upsample) and up.mode == 'nearest' and up.scale_factor == 2


def test_transformer_net_is_numpys_in_value_and_gradient(float64_default):
    torch.manual_seed(1)
    net = TransformerNet()
    p = state_arrays(net)
    rng = np.random.default_rng(4)
    X = rng.random((1, 3, 12, 12))
    target = rng.random((1, 3, 12, 12))
    y = net(torch.tensor(X))
    np.testing.assert_allclose(np.array(y.detach()), np_transformer_net(p, X), rtol=1e-8, atol=1e-10)
    loss = torch.nn.functional.mse_loss(y, torch.tensor(target))
    loss.backward()
    params = dict(net.named_parameters())
    for name in ("res3.conv1.conv2d.weight", "deconv1.conv2d.weight", "in5.weight", "conv1.conv2d.bias"):
        def loss_of(w, name=name):
            q = dict(p)
            q[name] = w
            return float(((np_transformer_net(q, X) - target) ** 2).mean())
        idx = some_indices(p[name].shape, 2, 5)
        np.testing.assert_allclose([params[name].grad[i] for i in idx], central(loss_of, p[name], idx),
                                   rtol=1e-5, atol=1e-10)


def test_transformer_net_trains_with_adam_as_train_py_sets_it():
    """train.py's optimizer (Adam, lr 1e-3) on a pixel loss; its VGG16 perceptual loss needs torchvision's
    pretrained weights, which are not here, so the target is a made-up image (a smooth ramp)."""
    torch.manual_seed(2)
    transformer = TransformerNet()
    optimizer = torch.optim.Adam(transformer.parameters(), 1e-3)
    mse_loss = torch.nn.MSELoss()
    x = torch.rand(2, 3, 12, 12)
    target = torch.linspace(0, 1, 12).view(1, 1, 1, 12).expand(2, 3, 12, 12)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        loss = mse_loss(transformer(x), target)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    assert losses[-1] < 0.5 * losses[0]


# ---- 2b. milesial/Pytorch-UNet unet/unet_parts.py and unet/unet_model.py, as written ----------------------
F = torch.nn.functional  # differs: `import torch.nn.functional as F` (the library's module, by its name here)


class DoubleConv(nn.Module):
    """(convolution => [BN] => ReLU) * 2"""

    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    """Downscaling with maxpool then double conv"""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(
            nn.MaxPool2d(2),
            DoubleConv(in_channels, out_channels)
        )

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Upscaling then double conv"""

    def __init__(self, in_channels, out_channels, bilinear=True):
        super().__init__()

        # if bilinear, use the normal convolutions to reduce the number of channels
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels , in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)


    def forward(self, x1, x2):
        x1 = self.up(x1)
        # input is CHW
        diffY = torch.tensor([x2.size()[2] - x1.size()[2]])
        diffX = torch.tensor([x2.size()[3] - x1.size()[3]])

        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2,
                        diffY // 2, diffY - diffY // 2])
        # if you have padding issues, see
        # https://github.com/HaiyongJiang/U-Net-Pytorch-Unstructured-Buggy/commit/
        #   0e854509c2cea854e247a9c615f175f76fbb2e3a   (wrapped at 120 columns)
        # https://github.com/xiaopeng-liao/Pytorch-UNet/commit/8ebac70e633bac59fc22bb5195e513d5832fb3bd
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(OutConv, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, bilinear=True):
        super(UNet, self).__init__()
        self.n_channels = n_channels
        self.n_classes = n_classes
        self.bilinear = bilinear

        self.inc = DoubleConv(n_channels, 64)
        self.down1 = Down(64, 128)
        self.down2 = Down(128, 256)
        self.down3 = Down(256, 512)
        factor = 2 if bilinear else 1
        self.down4 = Down(512, 1024 // factor)
        self.up1 = Up(1024, 512 // factor, bilinear)
        self.up2 = Up(512, 256 // factor, bilinear)
        self.up3 = Up(256, 128 // factor, bilinear)
        self.up4 = Up(128, 64 * factor, bilinear)
        self.outc = OutConv(64, n_classes)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        logits = self.outc(x)
        return logits


def test_unet_runs_as_written_on_an_odd_sized_image():
    torch.manual_seed(0)
    net = UNet(n_channels=3, n_classes=2, bilinear=False)  # see the docstring: the stored revisions' widths
    logits = net(torch.rand(2, 3, 20, 20))  # 20 -> 10 -> 5 -> 2 -> 1: the skips at 5 x 5 need Up's padding
    assert logits.shape == (2, 2, 20, 20)     # (two images: BatchNorm2d in training needs two values at 1 x 1)


def np_bilinear_align_corners(x, scale=2):
    """Interpolation matrices of PyTorch's bilinear upsampling with align_corners=True: src = i (n - 1) / (m - 1)."""
    def matrix(n):
        m = n * scale
        a = np.zeros((m, n))
        for i in range(m):
            src = i * (n - 1) / (m - 1) if m > 1 else 0.0
            i0 = min(int(np.floor(src)), n - 1)
            i1 = min(i0 + 1, n - 1)
            a[i, i0] += 1 - (src - i0)
            a[i, i1] += src - i0
        return a
    return np.einsum("ih,nchw,jw->ncij", matrix(x.shape[2]), x, matrix(x.shape[3]))


def np_double_conv(p, pre, x):
    for conv, bn in ((0, 1), (3, 4)):
        x = np_conv2d(x, p[pre + "double_conv.%d.weight" % conv], 1, 1, p[pre + "double_conv.%d.bias" % conv])
        x = np.maximum(np_batch_norm(x, p[pre + "double_conv.%d.weight" % bn], p[pre + "double_conv.%d.bias" % bn]), 0)
    return x


def np_up(p, x1, x2, bilinear):
    if bilinear:
        x1 = np_bilinear_align_corners(x1)
    else:
        x1 = np_conv_transpose2d(x1, p["up.weight"], 2, 0) + p["up.bias"][None, :, None, None]
    dy, dx = x2.shape[2] - x1.shape[2], x2.shape[3] - x1.shape[3]
    x1 = np.pad(x1, ((0, 0), (0, 0), (dy // 2, dy - dy // 2), (dx // 2, dx - dx // 2)))
    return np_double_conv(p, "conv.", np.concatenate([x2, x1], axis=1))


@pytest.mark.parametrize("bilinear", [True, False])
def test_unet_up_block_is_numpys_in_value_and_gradient(bilinear, float64_default):
    torch.manual_seed(1)
    up = Up(8, 4, bilinear)
    p = state_arrays(up)
    rng = np.random.default_rng(7)
    # bilinear: x1 keeps its 4 channels, concatenated with x2's 4; transposed: 8 halved by the ConvTranspose2d
    x1, x2 = rng.normal(size=(2, 4 if bilinear else 8, 2, 2)), rng.normal(size=(2, 4, 5, 5))
    out = up(torch.tensor(x1), torch.tensor(x2))
    assert out.shape == (2, 4, 5, 5)
    np.testing.assert_allclose(np.array(out.detach()), np_up(p, x1, x2, bilinear), rtol=1e-9, atol=1e-12)
    w = rng.normal(size=out.shape)
    (out * torch.tensor(w)).sum().backward()
    params = dict(up.named_parameters())
    names = ["conv.double_conv.0.weight", "conv.double_conv.4.weight"] + ([] if bilinear else ["up.weight"])
    for name in names:
        def loss_of(v, name=name):
            q = dict(p)
            q[name] = v
            return float((np_up(q, x1, x2, bilinear) * w).sum())
        idx = some_indices(p[name].shape, 3, 9)
        np.testing.assert_allclose([params[name].grad[i] for i in idx], central(loss_of, p[name], idx),
                                   rtol=1e-5, atol=1e-9)


def test_unet_parts_learn_a_segmentation_of_made_up_images():
    """The repository's parts, as written, in a U-Net of two levels (the full UNet's 31 M parameters take
    seconds a step here); its train.py (RMSprop, AMP, Dice) is not ported: cross-entropy and Adam on the mask
    of a bright square in made-up 21 x 21 images (odd, so Up pads), a few steps: the loss falls."""
    class SmallUNet(nn.Module):  # differs: the test's own composition of DoubleConv, Down, Up and OutConv
        def __init__(self):
            super().__init__()
            self.inc, self.down1 = DoubleConv(3, 8), Down(8, 16)
            self.up1, self.outc = Up(16, 8, bilinear=False), OutConv(8, 2)

        def forward(self, x):
            x1 = self.inc(x)
            return self.outc(self.up1(self.down1(x1), x1))

    torch.manual_seed(2)
    rng = np.random.default_rng(3)
    images = 0.1 * rng.random((2, 3, 21, 21)).astype(np.float32)
    masks = np.zeros((2, 21, 21), np.int64)
    for n, (r, c) in enumerate([(3, 5), (9, 2)]):
        images[n, :, r:r + 8, c:c + 8] += 0.8
        masks[n, r:r + 8, c:c + 8] = 1
    net = SmallUNet()
    optimizer = optim.Adam(net.parameters(), lr=1e-2)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = criterion(net(torch.tensor(images)), torch.tensor(masks))
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    assert losses[-1] < 0.5 * losses[0]
    net.eval()
    with torch.no_grad():
        predicted = net(torch.tensor(images)).argmax(dim=1)
    assert np.mean(np.array(predicted) == masks) > 0.9


# ==== 3. tonyduan/mixture-density-network mdn/models.py and examples/ex_1d.py, as written =================

class MixtureDensityNetwork(nn.Module):
    """
    Mixture density network.

    [ Bishop, 1994 ]

    Parameters
    ----------
    dim_in: int; dimensionality of the covariates
    dim_out: int; dimensionality of the response variable
    n_components: int; number of components in the mixture model
    """
    def __init__(self, dim_in, dim_out, n_components):
        super().__init__()
        self.pi_network = CategoricalNetwork(dim_in, n_components)
        self.normal_network = MixtureDiagNormalNetwork(dim_in, dim_out,
                                                       n_components)

    def forward(self, x):
        return self.pi_network(x), self.normal_network(x)

    def loss(self, x, y):
        pi, normal = self.forward(x)
        loglik = normal.log_prob(y.unsqueeze(1).expand_as(normal.loc))
        loglik = torch.sum(loglik, dim=2)
        loss = -torch.logsumexp(torch.log(pi.probs) + loglik, dim=1)
        return loss

    def sample(self, x):
        pi, normal = self.forward(x)
        samples = torch.sum(pi.sample().unsqueeze(2) * normal.sample(), dim=1)
        return samples


class MixtureDiagNormalNetwork(nn.Module):

    def __init__(self, in_dim, out_dim, n_components, hidden_dim=None):
        super().__init__()
        self.n_components = n_components
        if hidden_dim is None:
            hidden_dim = in_dim
        self.network = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.ELU(),
            nn.Linear(hidden_dim, 2 * out_dim * n_components),
        )

    def forward(self, x):
        params = self.network(x)
        mean, sd = torch.split(params, params.shape[1] // 2, dim=1)
        mean = torch.stack(mean.split(mean.shape[1] // self.n_components, 1))
        sd = torch.stack(sd.split(sd.shape[1] // self.n_components, 1))
        return Normal(mean.transpose(0, 1), torch.exp(sd).transpose(0, 1))

class CategoricalNetwork(nn.Module):

    def __init__(self, in_dim, out_dim, hidden_dim=None):
        super().__init__()
        if hidden_dim is None:
            hidden_dim = in_dim
        self.network = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.ELU(),
            nn.Linear(hidden_dim, out_dim)
        )

    def forward(self, x):
        params = self.network(x)
        return OneHotCategorical(logits=params)


def gen_data(n=512):
    y = np.linspace(-1, 1, n)
    x = 7 * np.sin(5 * y) + 0.5 * y + 0.5 * np.random.randn(*y.shape)
    return x[:,np.newaxis], y[:,np.newaxis]


def mdn_main(argv):  # differs: ex_1d.py's `if __name__ == "__main__":` block, as a function of its arguments
    argparser = argparse.ArgumentParser()
    argparser.add_argument("--n-iterations", type=int, default=2000)
    args = argparser.parse_args(argv)

    logging.basicConfig(level=logging.DEBUG)
    logger = logging.getLogger(__name__)

    x, y = gen_data()
    x = torch.Tensor(x).float()  # differs: .float(): torch.Tensor of a float64 array is float64 here (documented)
    y = torch.Tensor(y).float()  # differs: the same

    model = MixtureDensityNetwork(1, 1, n_components=3)
    optimizer = optim.Adam(model.parameters(), lr=0.005)

    losses = []  # differs: kept for the test
    for i in range(args.n_iterations):
        optimizer.zero_grad()
        loss = model.loss(x, y).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())  # differs: kept for the test
        if i % 100 == 0:
            logger.info(f"Iter: {i}\t" + f"Loss: {loss.data:.2f}")

    samples = model.sample(x)
    # differs: the source's breakpoint() and its matplotlib figure of the data and the samples left out
    return model, x, y, samples, losses


def np_mdn_loss(p, x, y, k=3):
    """-log sum_k pi_k prod_d N(y_d; mu_kd, sd_kd) per row, from the two ELU networks."""
    def net(prefix, h):
        h = np_elu(h @ p[prefix + ".network.0.weight"].T + p[prefix + ".network.0.bias"])
        return h @ p[prefix + ".network.2.weight"].T + p[prefix + ".network.2.bias"]
    logits = net("pi_network", x)
    log_pi = logits - np_logsumexp(logits, 1)[:, None]
    params = net("normal_network", x)
    d = params.shape[1] // (2 * k)
    mean = params[:, :k * d].reshape(-1, k, d)
    sd = np.exp(params[:, k * d:].reshape(-1, k, d))
    loglik = (-0.5 * ((y[:, None, :] - mean) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)).sum(2)
    return -np_logsumexp(log_pi + loglik, 1)


def test_mdn_example_runs_as_written_and_its_likelihood_rises():
    np.random.seed(0)
    torch.manual_seed(0)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        model, x, y, samples, losses = mdn_main(["--n-iterations", "150"])
    finally:  # the script's logging.basicConfig(level=DEBUG), undone for the tests after this one
        root.handlers[:] = handlers
        root.setLevel(level)
    assert x.shape == (512, 1) and samples.shape == (512, 1) and samples.dtype == torch.float32
    assert losses[-1] < losses[0] - 0.5     # y given x is multimodal: the mixture learns much of it in 150 steps
    pi, normal = model(x)
    assert normal.loc.shape == (512, 3, 1) and pi.probs.shape == (512, 3)
    # one component is drawn per row: the sample sits within a few of that row's scales of one of its means
    z = np.abs((np.array(samples.detach())[:, None, :] - np.array(normal.loc.detach())) /
               np.array(normal.scale.detach())).min(1)
    assert np.mean(z < 4) > 0.99


def test_mdn_loss_is_numpys_and_a_mixture_same_family_and_its_gradient_central_differences(float64_default):
    torch.manual_seed(3)
    model = MixtureDensityNetwork(2, 2, n_components=3)
    p = state_arrays(model)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    loss = model.loss(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(np.array(loss.detach()), np_mdn_loss(p, x, y), rtol=1e-10)
    # the same law written with MixtureSameFamily(Categorical, Independent(Normal, 1)), as the library documents it
    pi, normal = model(torch.tensor(x))
    mix = distributions.MixtureSameFamily(distributions.Categorical(probs=pi.probs),
                                          distributions.Independent(normal, 1))
    np.testing.assert_allclose(np.array(-mix.log_prob(torch.tensor(y)).detach()), np_mdn_loss(p, x, y), rtol=1e-10)
    loss.mean().backward()
    params = dict(model.named_parameters())
    for name in ("pi_network.network.0.weight", "normal_network.network.2.weight", "normal_network.network.2.bias"):
        def loss_of(w, name=name):
            q = dict(p)
            q[name] = w
            return float(np_mdn_loss(q, x, y).mean())
        idx = some_indices(p[name].shape, 3, 2)
        np.testing.assert_allclose([params[name].grad[i] for i in idx], central(loss_of, p[name], idx),
                                   rtol=1e-6, atol=1e-10)


# ==== 4. karpathy/pytorch-normalizing-flows nflib/flows.py, nflib/nets.py and nflib1.ipynb, as written ======

class LeafParam(nn.Module):
    """ 
    just ignores the input and outputs a parameter tensor, lol 
    todo maybe this exists in PyTorch somewhere?
    """
    def __init__(self, n):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1,n))  # differs: torch.Tensor(1, n) with sizes is refused (documented)
    
    def forward(self, x):
        return self.p.expand(x.size(0), self.p.size(1))


class MLP(nn.Module):
    """ a simple 4-layer MLP """

    def __init__(self, nin, nout, nh):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(nin, nh),
            nn.LeakyReLU(0.2),
            nn.Linear(nh, nh),
            nn.LeakyReLU(0.2),
            nn.Linear(nh, nh),
            nn.LeakyReLU(0.2),
            nn.Linear(nh, nout),
        )
    def forward(self, x):
        return self.net(x)


class AffineConstantFlow(nn.Module):
    """ 
    Scales + Shifts the flow by (learned) constants per dimension.
    In NICE paper there is a Scaling layer which is a special case of this where t is None
    """
    def __init__(self, dim, scale=True, shift=True):
        super().__init__()
        self.s = nn.Parameter(torch.randn(1, dim, requires_grad=True)) if scale else None
        self.t = nn.Parameter(torch.randn(1, dim, requires_grad=True)) if shift else None
        
    def forward(self, x):
        s = self.s if self.s is not None else x.new_zeros(x.size())
        t = self.t if self.t is not None else x.new_zeros(x.size())
        z = x * torch.exp(s) + t
        log_det = torch.sum(s, dim=1)
        return z, log_det
    
    def backward(self, z):
        s = self.s if self.s is not None else z.new_zeros(z.size())
        t = self.t if self.t is not None else z.new_zeros(z.size())
        x = (z - t) * torch.exp(-s)
        log_det = torch.sum(-s, dim=1)
        return x, log_det


class ActNorm(AffineConstantFlow):
    """
    Really an AffineConstantFlow but with a data-dependent initialization,
    where on the very first batch we clever initialize the s,t so that the output
    is unit gaussian. As described in Glow paper.
    """
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_dep_init_done = False
    
    def forward(self, x):
        # first batch is used for init
        if not self.data_dep_init_done:
            assert self.s is not None and self.t is not None # for now
            self.s.data = (-torch.log(x.std(dim=0, keepdim=True))).detach()
            self.t.data = (-(x * torch.exp(self.s)).mean(dim=0, keepdim=True)).detach()
            self.data_dep_init_done = True
        return super().forward(x)


class AffineHalfFlow(nn.Module):
    """
    As seen in RealNVP, affine autoregressive flow (z = x * exp(s) + t), where half of the 
    dimensions in x are linearly scaled/transfromed as a function of the other half.
    Which half is which is determined by the parity bit.
    - RealNVP both scales and shifts (default)
    - NICE only shifts
    """
    def __init__(self, dim, parity, net_class=MLP, nh=24, scale=True, shift=True):
        super().__init__()
        self.dim = dim
        self.parity = parity
        self.s_cond = lambda x: x.new_zeros(x.size(0), self.dim // 2)
        self.t_cond = lambda x: x.new_zeros(x.size(0), self.dim // 2)
        if scale:
            self.s_cond = net_class(self.dim // 2, self.dim // 2, nh)
        if shift:
            self.t_cond = net_class(self.dim // 2, self.dim // 2, nh)
        
    def forward(self, x):
        x0, x1 = x[:,::2], x[:,1::2]
        if self.parity:
            x0, x1 = x1, x0
        s = self.s_cond(x0)
        t = self.t_cond(x0)
        z0 = x0 # untouched half
        z1 = torch.exp(s) * x1 + t # transform this half as a function of the other
        if self.parity:
            z0, z1 = z1, z0
        z = torch.zeros((x.shape[0], self.dim))  
        z[:,::2] = z0
        z[:,1::2] = z1
        log_det = torch.sum(s, dim=1)
        return z, log_det
    
    def backward(self, z):
        z0, z1 = z[:,::2], z[:,1::2]
        if self.parity:
            z0, z1 = z1, z0
        s = self.s_cond(z0)
        t = self.t_cond(z0)
        x0 = z0 # this was the same
        x1 = (z1 - t) * torch.exp(-s) # reverse the transform on this half
        if self.parity:
            x0, x1 = x1, x0
        x = torch.zeros((z.shape[0], self.dim))  
        x[:,::2] = x0
        x[:,1::2] = x1
        log_det = torch.sum(-s, dim=1)
        return x, log_det


class NormalizingFlow(nn.Module):
    """ A sequence of Normalizing Flows is a Normalizing Flow """

    def __init__(self, flows):
        super().__init__()
        self.flows = nn.ModuleList(flows)

    def forward(self, x):
        m, _ = x.shape
        log_det = torch.zeros(m)
        zs = [x]
        for flow in self.flows:
            x, ld = flow.forward(x)
            log_det += ld
            zs.append(x)
        return zs, log_det

    def backward(self, z):
        m, _ = z.shape
        log_det = torch.zeros(m)
        xs = [z]
        for flow in self.flows[::-1]:
            z, ld = flow.backward(z)
            log_det += ld
            xs.append(z)
        return xs, log_det

class NormalizingFlowModel(nn.Module):
    """ A Normalizing Flow Model is a (prior, flow) pair """
    
    def __init__(self, prior, flows):
        super().__init__()
        self.prior = prior
        self.flow = NormalizingFlow(flows)
    
    def forward(self, x):
        zs, log_det = self.flow.forward(x)
        prior_logprob = self.prior.log_prob(zs[-1]).view(x.size(0), -1).sum(1)
        return zs, prior_logprob, log_det

    def backward(self, z):
        xs, log_det = self.flow.backward(z)
        return xs, log_det
    
    def sample(self, num_samples):
        z = self.prior.sample((num_samples,))
        xs, _ = self.flow.backward(z)
        return xs


class datasets:  # differs: sklearn is not a dependency; make_moons' two interleaved half circles, written here
    @staticmethod
    def make_moons(n_samples, noise):
        n_out = n_samples // 2
        n_in = n_samples - n_out
        outer = np.linspace(0, np.pi, n_out)
        inner = np.linspace(0, np.pi, n_in)
        X = np.vstack([np.append(np.cos(outer), 1 - np.cos(inner)),
                       np.append(np.sin(outer), 1 - np.sin(inner) - .5)]).T
        X += np.random.normal(scale=noise, size=X.shape)
        return X, np.hstack([np.zeros(n_out, int), np.ones(n_in, int)])


class DatasetMoons:
    """ two half-moons """
    def sample(self, n):
        moons = datasets.make_moons(n_samples=n, noise=0.05)[0].astype(np.float32)
        return torch.from_numpy(moons)


def notebook(prior_name="logistic", steps=60, record=None):
    """The notebook's cells: data, prior, flows, optimizer, training loop."""
    d = DatasetMoons()

    # construct a model
    #prior = MultivariateNormal(torch.zeros(2), torch.eye(2))
    prior = TransformedDistribution(Uniform(torch.zeros(2), torch.ones(2)),
                                    SigmoidTransform().inv) # Logistic distribution   (wrapped at 120 columns)
    if prior_name == "normal":  # differs: the commented-out line above, chosen by the test
        prior = MultivariateNormal(torch.zeros(2), torch.eye(2))

    # RealNVP
    flows = [AffineHalfFlow(dim=2, parity=i%2) for i in range(9)]  # differs: the notebook runs its neural spline
    # flows (nflib/spline_flows.py); RealNVP is one of its listed options, and the ActNorm insertion another:

    # insert ActNorms to any of the flows above
    norms = [ActNorm(dim=2) for _ in flows]
    flows = list(itertools.chain(*zip(norms, flows)))

    # construct the model
    model = NormalizingFlowModel(prior, flows)

    # optimizer
    optimizer = optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-5) # todo tune WD
    print("number of params: ", sum(p.numel() for p in model.parameters()))

    model.train()
    for k in range(steps):  # differs: 1000 steps in the notebook
        x = d.sample(128)
        if record is not None:  # differs: kept for the test
            record.setdefault("batches", []).append(x)

        zs, prior_logprob, log_det = model(x)
        logprob = prior_logprob + log_det
        loss = -torch.sum(logprob) # NLL

        model.zero_grad()
        loss.backward()
        optimizer.step()

        if record is not None:  # differs: kept for the test
            record.setdefault("losses", []).append(loss.item())
        if k % 100 == 0:
            print(loss.item())
    return model, optimizer


def np_logistic_logprob(z):
    """Log density of the standard logistic, sigmoid's inverse of Uniform(0, 1): log s(z) (1 - s(z))."""
    return -np.logaddexp(0, z) - np.logaddexp(0, -z)


def np_mlp(p, prefix, h):
    for i in (0, 2, 4):
        h = np_leaky(h @ p[prefix + "net.%d.weight" % i].T + p[prefix + "net.%d.bias" % i], 0.2)
    return h @ p[prefix + "net.6.weight"].T + p[prefix + "net.6.bias"]


def np_flow_nll(p, x, n_flows, prior="logistic"):
    """-sum log p(x): ActNorm and AffineHalfFlow alternately, then the prior's log density of the last z."""
    log_det = np.zeros(len(x))
    for j in range(2 * n_flows):
        pre = "flow.flows.%d." % j
        if j % 2 == 0:                                       # ActNorm (initialised already)
            x = x * np.exp(p[pre + "s"]) + p[pre + "t"]
            log_det += p[pre + "s"].sum()
        else:
            parity = (j // 2) % 2
            x0, x1 = x[:, 0:1], x[:, 1:2]
            if parity:
                x0, x1 = x1, x0
            s, t = np_mlp(p, pre + "s_cond.", x0), np_mlp(p, pre + "t_cond.", x0)
            z1 = np.exp(s) * x1 + t
            x = np.concatenate([z1, x0] if parity else [x0, z1], axis=1)
            log_det += s.sum(1)
    prior_logprob = (np_logistic_logprob(x).sum(1) if prior == "logistic" else
                     -0.5 * (x ** 2).sum(1) - np.log(2 * np.pi))
    return float(-(prior_logprob + log_det).sum())


def test_flow_notebook_runs_as_written_and_the_likelihood_rises():
    np.random.seed(0)
    torch.manual_seed(0)
    record = {}
    (model, _), printed = quiet(notebook, "logistic", 40, record)
    assert "number of params:  22950" in printed  # by hand: 9 x 2 MLPs of 1273, 9 ActNorms of 4
    losses = record["losses"]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    # the first batch set each ActNorm (data-dependent init), and the flow inverts: backward(forward(x)) = x
    x = record["batches"][0]
    zs, prior_logprob, log_det = model(x)
    xs, back_log_det = model.backward(zs[-1])
    np.testing.assert_allclose(np.array(xs[-1].detach()), np.array(x), atol=1e-4)
    np.testing.assert_allclose(np.array(back_log_det.detach()), -np.array(log_det.detach()), atol=1e-4)
    samples = model.sample(16)[-1]
    assert samples.shape == (16, 2) and np.all(np.isfinite(np.array(samples.detach())))


@pytest.mark.parametrize("prior", ["logistic", "normal"])
def test_flow_model_log_likelihood_is_numpys_and_its_gradient_central_differences(prior):
    np.random.seed(1)
    torch.manual_seed(1)
    (trained, _), _ = quiet(notebook, prior, 2)      # two float32 steps on the moons: the ActNorms are set
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        (model, _), _ = quiet(notebook, prior, 0)    # the same model in float64, with the trained weights
        model.load_state_dict(trained.state_dict())
        for flow in model.flow.flows:
            if isinstance(flow, ActNorm):
                flow.data_dep_init_done = True
        check_flow_model_against_numpy(model, prior)
    finally:
        torch.set_default_dtype(previous)


def check_flow_model_against_numpy(model, prior):
    p = state_arrays(model)
    x = np.random.default_rng(2).normal(size=(5, 2))
    zs, prior_logprob, log_det = model(torch.tensor(x))
    assert prior_logprob.shape == (5,) and log_det.shape == (5,)
    if prior == "logistic":
        np.testing.assert_allclose(np.array(model.prior.log_prob(zs[-1]).detach()),
                                   np_logistic_logprob(np.array(zs[-1].detach())), rtol=1e-10)
    loss = -torch.sum(prior_logprob + log_det)
    assert abs(loss.item() - np_flow_nll(p, x, 9, prior)) < 1e-8 * abs(loss.item())
    model.zero_grad()
    loss.backward()
    params = dict(model.named_parameters())
    for name in ("flow.flows.0.s", "flow.flows.3.s_cond.net.2.weight", "flow.flows.17.t_cond.net.6.bias"):
        def nll_of(w, name=name):
            q = dict(p)
            q[name] = w
            return np_flow_nll(q, x, 9, prior)
        idx = some_indices(p[name].shape, 2, 8)
        np.testing.assert_allclose([params[name].grad[i] for i in idx], central(nll_of, p[name], idx),
                                   rtol=1e-5, atol=1e-8)


def test_distributions_export_the_transforms_as_pytorchs():
    from microgradseq.distributions import SigmoidTransform as Sigmoid  # nflib1.ipynb's first cell
    assert Sigmoid is SigmoidTransform
    assert set(distributions.transforms.__all__) <= set(distributions.__all__)


# ==== 5. aprameyap/vibratiq model/model.py, model/dataset.py, model/train.py, config.py, as written ========
# and peppe9927/VRAE VRAE/utils/xavier_norm.py's weights_init, applied with Module.apply as its repository does

class Autoencoder1D(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv1d(1, 16, kernel_size=7, stride=2, padding=3),
            nn.ReLU(),
            nn.Conv1d(16, 32, kernel_size=7, stride=2, padding=3),
            nn.ReLU(),
            nn.Conv1d(32, 64, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose1d(64, 32, kernel_size=3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose1d(32, 16, kernel_size=7, stride=2, padding=3, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose1d(16, 1, kernel_size=7, stride=2, padding=3, output_padding=1),
        )

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


class BearingDataset(Dataset):
    def __init__(self, data_path):
        self.data = torch.load(data_path, weights_only=False)

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, idx):
        x = torch.tensor(self.data[idx], dtype=torch.float32)
        return x, x  # input == target for autoencoder


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.GRU) or isinstance(m, nn.LSTM) or isinstance(m, nn.RNN):
        for name, param in m.named_parameters():
            if 'weight_ih' in name:
                nn.init.xavier_uniform_(param)
            elif 'weight_hh' in name:
                nn.init.orthogonal_(param)
            elif 'bias' in name:
                nn.init.zeros_(param)
    elif isinstance(m, nn.Conv1d):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def setup_logger():  # differs: utils/logger.py (not in the index's copy read here): a standard logger
    return logging.getLogger("vibratiq")


def train(CONFIG, record=None):  # differs: CONFIG (config.py's dict) passed in with the test's sizes and paths
    logger = setup_logger()
    device = CONFIG["device"]
    
    train_loader = DataLoader(BearingDataset(CONFIG["train_path"]), batch_size=CONFIG["batch_size"], shuffle=True)
    val_loader = DataLoader(BearingDataset(CONFIG["val_path"]), batch_size=CONFIG["batch_size"], shuffle=False)
    # differs: the paths "data/processed/train.pt" and "data/processed/val.pt" are the test's

    model = Autoencoder1D().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=CONFIG["learning_rate"])
    criterion = nn.MSELoss()

    best_loss = float("inf")
    for epoch in range(CONFIG["epochs"]):
        model.train()
        running_loss = 0.0
        for i, (x, _) in enumerate(train_loader):
            x = x.to(device)
            optimizer.zero_grad()
            output = model(x)
            loss = criterion(output, x)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        
        val_loss = 0.0
        model.eval()
        with torch.no_grad():
            for x, _ in val_loader:
                x = x.to(device)
                output = model(x)
                loss = criterion(output, x)
                val_loss += loss.item()

        logger.info(f"Epoch [{epoch+1}/{CONFIG['epochs']}], Train Loss: {running_loss/len(train_loader):.6f}, "
                    f"Val Loss: {val_loss/len(val_loader):.6f}")  # (wrapped at 120 columns)
        if record is not None:  # differs: kept for the test
            record.append((running_loss / len(train_loader), val_loss / len(val_loader)))

        if val_loss < best_loss:
            best_loss = val_loss
            torch.save(model.state_dict(), CONFIG["model_save_path"])
            logger.info("Saved new best model.")
    return model  # differs: returned for the test


def made_up_vibration(n, length, seed):
    """Windows of a bearing's vibration: two tones with random phases and a little noise, shape (n, 1, length)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, (n, 2))
    x = np.sin(2 * np.pi * t / 16 + phase[:, :1]) + 0.5 * np.sin(2 * np.pi * t / 5 + phase[:, 1:])
    return torch.tensor((x + 0.05 * rng.normal(size=x.shape))[:, None, :].astype(np.float32))


def np_autoencoder(p, x):
    h = x
    for i, (stride, pad) in zip((0, 2, 4), ((2, 3), (2, 3), (2, 1))):
        h = np.maximum(np_conv1d(h, p["encoder.%d.weight" % i], p["encoder.%d.bias" % i], stride, pad), 0)
    for i, pad in zip((0, 2, 4), (1, 3, 3)):
        h = np_conv_transpose1d(h, p["decoder.%d.weight" % i], p["decoder.%d.bias" % i], 2, pad, 1)
        if i < 4:
            h = np.maximum(h, 0)
    return h


def test_vibratiq_train_runs_as_written_saves_the_best_model_and_reconstructs_better(tmp_path):
    torch.manual_seed(0)
    torch.save(made_up_vibration(48, 64, 1), str(tmp_path / "train.pt"))
    torch.save(made_up_vibration(16, 64, 2), str(tmp_path / "val.pt"))
    CONFIG = {
        "batch_size": 16,     # differs: 128 in config.py
        "epochs": 4,          # differs: 30
        "learning_rate": 1e-3,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "model_save_path": str(tmp_path / "best_model.pt"),
        "log_interval": 1,
        "train_path": str(tmp_path / "train.pt"), "val_path": str(tmp_path / "val.pt"),
    }
    history = []
    model = train(CONFIG, history)
    assert len(history) == 4 and history[-1][0] < history[0][0] and history[-1][1] < history[0][1]
    best = torch.load(CONFIG["model_save_path"])
    assert set(best) == set(model.state_dict())
    x = made_up_vibration(4, 64, 3)
    assert model(x).shape == (4, 1, 64)  # stride-2 encoder and output_padding=1 decoder give the length back


def test_vibratiq_autoencoder_is_numpys_in_value_and_gradient(float64_default):
    torch.manual_seed(1)
    model = Autoencoder1D()
    p = state_arrays(model)
    x = np.array(made_up_vibration(3, 32, 4), dtype=np.float64)
    out = model(torch.tensor(x))
    np.testing.assert_allclose(np.array(out.detach()), np_autoencoder(p, x), rtol=1e-9, atol=1e-12)
    nn.MSELoss()(out, torch.tensor(x)).backward()
    params = dict(model.named_parameters())
    for name in ("encoder.2.weight", "decoder.0.weight", "decoder.2.bias", "decoder.4.weight"):
        def loss_of(w, name=name):
            q = dict(p)
            q[name] = w
            return float(((np_autoencoder(q, x) - x) ** 2).mean())
        idx = some_indices(p[name].shape, 3, 6)
        np.testing.assert_allclose([params[name].grad[i] for i in idx], central(loss_of, p[name], idx),
                                   rtol=1e-5, atol=1e-10)


def test_weights_init_picks_layers_by_class_as_pytorch_does():
    """ConvTranspose1d is not a Conv1d in PyTorch (both derive from _ConvNd), so weights_init leaves the
    decoder's kernels at their default init; a GRU is an RNNBase, and its kernels become xavier/orthogonal."""
    assert not isinstance(nn.ConvTranspose1d(2, 3, 3), nn.Conv1d) and not isinstance(nn.Conv1d(2, 3, 3),
                                                                                       nn.ConvTranspose1d)
    assert all(isinstance(cls(4, 8), nn.RNNBase) for cls in (nn.RNN, nn.GRU, nn.LSTM))
    assert not isinstance(nn.GRUCell(4, 8), nn.RNNBase)
    torch.manual_seed(2)
    model = Autoencoder1D()
    decoder_before = state_arrays(model.decoder)
    model.apply(weights_init)
    for k, v in state_arrays(model.decoder).items():
        assert np.array_equal(v, decoder_before[k])
    w = np.array(model.encoder[2].weight.detach())               # xavier_uniform_: bound sqrt(6 / (fan_in + fan_out))
    bound = np.sqrt(6 / (16 * 7 + 32 * 7))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not np.any(np.array(model.encoder[2].bias.detach()))
    gru = nn.GRU(4, 8, num_layers=2)
    gru.apply(weights_init)
    whh = np.array(gru.weight_hh_l1.detach())                    # (3 H, H): orthogonal columns
    np.testing.assert_allclose(whh.T @ whh, np.eye(8), atol=1e-5)
    assert not np.any(np.array(gru.bias_ih_l0.detach()))

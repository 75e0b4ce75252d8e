"""Porting, round 18: data loading, checkpoints, LR schedulers across a resume, and sampling-based text
generation. Each script is written as its author wrote it, with only its imports changed and its data
made up and small (`# differs:` marks each other change and why):

1. pytorch/tutorials recipes_source/recipes/saving_and_loading_a_general_checkpoint.py (at
   0a7e68666de5faceafa90276ad2b7874cd32c5e0): `torch.save({'epoch', 'model_state_dict',
   'optimizer_state_dict', 'loss'}, PATH)`, then a fresh model and SGD-with-momentum optimizer restored
   from `torch.load(PATH)`. Its Net is the recipe's (Conv2d, MaxPool2d, Conv2d, three Linear layers) over made-up
   3 x 32 x 32 images: when this round was written the library had no Conv2d and the Net's convolutions were
   Linear layers; it has since (nn.Conv2d and nn.MaxPool2d, 0983a60), so the Net is as written.
2. pytorch/tutorials beginner_source/basics/data_tutorial.py (at 07a339ece661a2b304b8834780470f522eed1e02),
   "Datasets & DataLoaders": the CustomImageDataset over an annotations CSV and image files,
   `DataLoader(..., batch_size=64, shuffle=True)`, `next(iter(train_dataloader))`, and the visualising
   loop's `torch.randint(len(training_data), size=(1,)).item()`. torchvision, pandas and matplotlib are
   stand-ins.
3. pytorch/examples imagenet/main.py (at 493da9304e56ff5160f78d01a54992db35df2a98): `main_worker` on the
   CPU branch, with `StepLR`, `save_checkpoint` (and `shutil.copyfile` to model_best), `--resume` (model,
   optimizer and scheduler state dicts, `best_acc1` a tensor), `DataLoader(..., shuffle=(train_sampler
   is None), sampler=train_sampler, num_workers=..., pin_memory=...)`, `len(val_loader.sampler)`, the
   AverageMeter / ProgressMeter / accuracy helpers. torchvision's models and FakeData are stand-ins.
4. spro/char-rnn.pytorch generate.py (fbb2206c), as ported in round 8 (its model and training are
   tested there): generation by `torch.multinomial(output_dist, 1)[0]` from
   `output.data.view(-1).div(temperature).exp()`, checked to draw each character with its softmax
   probability at the temperature.
5. fclairec/geometric-ifc test.py (found by the code index; the WeightedRandomSampler example first
   posted on discuss.pytorch.org, "Some problems with WeightedRandomSampler"): a 9:1 imbalanced
   TensorDataset drawn in balanced batches by `WeightedRandomSampler(samples_weight, len(samples_weight))`.
6. The IterableDataset example of PyTorch's own docstring (pytorch/pytorch torch/utils/data/dataset.py,
   "Example 1: splitting workload across all workers in __iter__"), with `get_worker_info()`.

The gaps the ports (and the public scripts found beside them) met, each fixed (microgradseq/utils/data,
serialization.py) and pinned at the end:

  G1  `loader.sampler` and `loader.batch_sampler` were None unless given; PyTorch's loader always has
      them (a SequentialSampler or RandomSampler, in a BatchSampler), and scripts read
      `len(loader.sampler)` (imagenet's validate; Udacity-style `loss / len(train_loader.sampler)`).
  G2  `torch.utils.data.distributed` did not exist (imagenet imports it at the top); now
      `DistributedSampler(dataset, num_replicas, rank, shuffle, seed, drop_last)` with `set_epoch`.
  G3  WeightedRandomSampler and the `Sampler` base class did not exist (script 5).
  G4  default_collate refused dict items (`{'input_ids': ..., 'labels': ...}`, Hugging Face style),
      strings beside tensors (`(image, 'file.png')`) and named tuples; `default_collate` and
      `default_convert` could not be imported (custom collate_fns call them).
  G5  ConcatDataset (and `ds_a + ds_b`), IterableDataset, ChainDataset and `get_worker_info` did not
      exist (script 6); `class Pairs(Dataset[tuple])`, PyTorch's generic spelling, was a TypeError.
  G6  `torch.save(..., _use_new_zipfile_serialization=False)` (or `pickle_protocol=`) and
      `torch.load(path, mmap=True)` were TypeErrors.
  G7  `DataLoader(..., worker_init_fn=seed_worker, generator=g)`, PyTorch's reproducibility recipe, was a
      TypeError; it is kept and, as in PyTorch with num_workers=0, never called.

Expected values come from closed forms written here (StepLR's lr, SGD with momentum, softmax with a
temperature, binomial bounds), from the data the tests make, or from PyTorch 2.13's behaviour, checked
by hand and written down as literals (each says so).
"""

import argparse
import collections
import csv
import math
import os
import shutil
import time
import types
from enum import Enum

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
import microgradseq.utils.data
from porting_references import quietly


def arrays_of(state):
    """A state dict's values as numpy arrays, for comparing two of them."""
    return {name: np.array(value) for name, value in state.items()}


# ---- 1. the general checkpoint recipe ------------------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.flatten(start_dim=1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def sgd_steps(net, optimizer, x, y, steps):
    """A few training steps (differs: the recipe saves an untrained net; these give the optimizer a
    momentum buffer to save)."""
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(net(x), y).backward()
        optimizer.step()


def general_checkpoint_recipe(PATH, x, y):
    """Steps 2 to 5 of the recipe, as written (with the training steps above before step 4)."""
    torch.manual_seed(0)
    net = Net()
    print(net)

    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    sgd_steps(net, optimizer, x, y, 3)

    # Additional information
    EPOCH = 5
    LOSS = 0.4

    torch.save({
                'epoch': EPOCH,
                'model_state_dict': net.state_dict(),
                'optimizer_state_dict': optimizer.state_dict(),
                'loss': LOSS,
                }, PATH)

    model = Net()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    checkpoint = torch.load(PATH)
    model.load_state_dict(checkpoint['model_state_dict'])
    optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
    epoch = checkpoint['epoch']
    loss = checkpoint['loss']

    model.eval()
    # - or -
    model.train()
    return types.SimpleNamespace(**locals())


def recipe_data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n, 3, 32, 32)).astype(np.float32)
    return torch.tensor(images), torch.tensor(rng.integers(0, 10, n))


def test_01_general_checkpoint_recipe_restores_the_epoch_loss_and_weights(tmp_path):
    x, y = recipe_data()
    run, printed = quietly(general_checkpoint_recipe, str(tmp_path / "model.pt"), x, y)
    assert "(conv1): Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))" in printed
    assert "(pool): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)" in printed
    assert "(fc1): Linear(in_features=400, out_features=120, bias=True)" in printed
    assert run.epoch == 5 and type(run.epoch) is int and run.loss == 0.4 and type(run.loss) is float
    for name, value in run.net.state_dict().items():
        np.testing.assert_array_equal(np.array(run.model.state_dict()[name]), np.array(value))


def test_01_general_checkpoint_recipe_resumes_sgd_momentum_where_it_stopped(tmp_path):
    """The recipe's second optimizer is over net.parameters() (as written): after loading, one step must
    be SGD with the saved momentum buffer, buf = 0.9 * buf + grad, p -= 0.001 * buf (closed form)."""
    x, y = recipe_data()
    run, _ = quietly(general_checkpoint_recipe, str(tmp_path / "model.pt"), x, y)
    saved = torch.load(str(tmp_path / "model.pt"))["optimizer_state_dict"]["state"]
    before = [np.array(p.detach()) for p in run.net.parameters()]
    run.optimizer.zero_grad()
    F.cross_entropy(run.net(x), y).backward()
    grads = [np.array(p.grad) for p in run.net.parameters()]
    run.optimizer.step()
    for i, p in enumerate(run.net.parameters()):
        buffer = 0.9 * saved[i]["momentum_buffer"] + grads[i]
        np.testing.assert_allclose(np.array(p.detach()), before[i] - 0.001 * buffer, rtol=1e-6, atol=1e-7)


# ---- 2. Datasets & DataLoaders -------------------------------------------------------------------------

class _ReadCsv:  # differs: `pd.read_csv(annotations_file)`: the rows, with .iloc[row, column] as pandas gives
    def __init__(self, path):
        with open(path, newline="") as f:
            self.rows = [(name, np.int64(label)) for name, label in csv.reader(f)]
        self.iloc = self

    def __getitem__(self, where):
        row, column = where
        return self.rows[row][column]

    def __len__(self):
        return len(self.rows)


def read_image(path):  # differs: torchvision.io.read_image: a (1, H, W) uint8 image kept as .npy
    return torch.from_numpy(np.load(path))


def data_tutorial(annotations_file, img_dir, batch_size):
    """The tutorial's CustomImageDataset and DataLoader sections, as written."""
    from microgradseq.utils.data import Dataset

    class CustomImageDataset(Dataset):
        def __init__(self, annotations_file, img_dir, transform=None, target_transform=None):
            self.img_labels = _ReadCsv(annotations_file)
            self.img_dir = img_dir
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.img_labels)

        def __getitem__(self, idx):
            img_path = os.path.join(self.img_dir, self.img_labels.iloc[idx, 0])
            image = read_image(img_path)
            label = self.img_labels.iloc[idx, 1]
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    training_data = CustomImageDataset(annotations_file, img_dir)
    sample_idx = torch.randint(len(training_data), size=(1,)).item()
    img, label = training_data[sample_idx]

    from microgradseq.utils.data import DataLoader

    train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)

    train_features, train_labels = next(iter(train_dataloader))
    print(f"Feature batch shape: {train_features.size()}")
    print(f"Labels batch shape: {train_labels.size()}")
    img = train_features[0].squeeze()
    label = train_labels[0]
    print(f"Label: {label}")
    return types.SimpleNamespace(**locals())


def image_folder(tmp_path, n=10):
    """n 4x4 uint8 images whose pixels all equal their label times 10, and the annotations CSV."""
    labels = [i % 10 for i in range(3, 3 + n)]
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        for i, label in enumerate(labels):
            np.save(tmp_path / f"item{i}.npy", np.full((1, 4, 4), label * 10, dtype=np.uint8))
            csv.writer(f).writerow([f"item{i}.npy", label])
    return labels


def test_02_data_tutorial_batches_images_with_their_labels(tmp_path):
    labels = image_folder(tmp_path)
    torch.manual_seed(0)
    run, printed = quietly(data_tutorial, str(tmp_path / "labels.csv"), str(tmp_path), 4)
    # (x.size() is a Size, PyTorch's torch.Size: the tutorial prints "torch.Size([64, 1, 28, 28])")
    assert "Feature batch shape: Size([4, 1, 4, 4])" in printed and "Labels batch shape: Size([4])" in printed
    assert run.train_features.dtype == np.uint8 and run.train_labels.dtype == np.int64
    assert 0 <= run.sample_idx < 10 and int(run.label) in labels
    pixels = np.array(run.train_features)[:, 0, 0, 0]
    np.testing.assert_array_equal(pixels, np.array(run.train_labels) * 10)   # each image with its own label
    assert run.img.shape == (4, 4)


def test_02_data_tutorial_loader_visits_every_item_once_per_epoch(tmp_path):
    labels = image_folder(tmp_path)
    run, _ = quietly(data_tutorial, str(tmp_path / "labels.csv"), str(tmp_path), 4)
    seen = np.concatenate([np.array(yb) for _, yb in run.train_dataloader])
    assert sorted(seen.tolist()) == sorted(labels) and len(run.train_dataloader) == 3


# ---- 3. pytorch/examples imagenet/main.py --------------------------------------------------------------

# differs: the script's imports `torch.distributed`, `torch.multiprocessing`, `torch.nn.parallel` (used only
# when training distributed) do not exist here; torchvision's datasets, models and transforms are stand-ins;
# `import torch.utils.data.distributed` is run by imagenet_run, as the script's first lines run when it starts
from microgradseq.optim.lr_scheduler import StepLR  # noqa: E402
from microgradseq.utils.data import Subset  # noqa: E402

best_acc1 = 0


class FakeData(torch.utils.data.Dataset):  # differs: torchvision.datasets.FakeData with ToTensor()
    def __init__(self, size, image_size, num_classes, transform=None, seed=0):
        rng = np.random.default_rng(seed)
        self.targets = rng.integers(0, num_classes, size)
        self.images = (rng.normal(size=(size,) + image_size) + self.targets[:, None, None, None]).astype(np.float32)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        return torch.from_numpy(self.images[index]), int(self.targets[index])


def tiny_model():  # differs: models.__dict__[args.arch](): a small classifier of 3x2x2 images
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))


def main_worker(gpu, ngpus_per_node, args):
    global best_acc1
    args.gpu = gpu

    if args.gpu is not None:
        print("Use GPU: {} for training".format(args.gpu))

    # create model
    print("=> creating model '{}'".format(args.arch))
    model = tiny_model()

    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        print('using CPU, this will be slow')

    if torch.cuda.is_available():
        device = torch.device("cuda")
    elif torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    # define loss function (criterion), optimizer, and learning rate scheduler
    criterion = nn.CrossEntropyLoss().to(device)

    optimizer = torch.optim.SGD(model.parameters(), args.lr,
                                momentum=args.momentum,
                                weight_decay=args.weight_decay)

    """Sets the learning rate to the initial LR decayed by 10 every 30 epochs"""
    scheduler = StepLR(optimizer, step_size=2, gamma=0.1)      # differs: step_size=30, for a 4-epoch run

    # optionally resume from a checkpoint
    if args.resume:
        if os.path.isfile(args.resume):
            print("=> loading checkpoint '{}'".format(args.resume))
            if args.gpu is None:
                checkpoint = torch.load(args.resume)
            elif torch.cuda.is_available():
                # Map model to be loaded to specified single gpu.
                loc = 'cuda:{}'.format(args.gpu)
                checkpoint = torch.load(args.resume, map_location=loc)
            args.start_epoch = checkpoint['epoch']
            best_acc1 = checkpoint['best_acc1']
            if args.gpu is not None:
                # best_acc1 may be from a checkpoint from a different GPU
                best_acc1 = best_acc1.to(args.gpu)
            model.load_state_dict(checkpoint['state_dict'])
            optimizer.load_state_dict(checkpoint['optimizer'])
            scheduler.load_state_dict(checkpoint['scheduler'])
            print("=> loaded checkpoint '{}' (epoch {})"
                  .format(args.resume, checkpoint['epoch']))
        else:
            print("=> no checkpoint found at '{}'".format(args.resume))

    # Data loading code
    print("=> Dummy data is used!")
    train_dataset = FakeData(24, (3, 2, 2), 4)                  # differs: 1281167 images of (3, 224, 224)
    val_dataset = FakeData(10, (3, 2, 2), 4, seed=1)

    if args.distributed:
        train_sampler = torch.utils.data.distributed.DistributedSampler(train_dataset)
        val_sampler = torch.utils.data.distributed.DistributedSampler(val_dataset, shuffle=False, drop_last=True)
    else:
        train_sampler = None
        val_sampler = None

    train_loader = torch.utils.data.DataLoader(
        train_dataset, batch_size=args.batch_size, shuffle=(train_sampler is None),
        num_workers=args.workers, pin_memory=False, sampler=train_sampler)   # differs: pin_memory=True warns

    val_loader = torch.utils.data.DataLoader(
        val_dataset, batch_size=args.batch_size, shuffle=False,
        num_workers=args.workers, pin_memory=False, sampler=val_sampler)

    if args.evaluate:
        validate(val_loader, model, criterion, args)
        return

    for epoch in range(args.start_epoch, args.epochs):
        if args.distributed:
            train_sampler.set_epoch(epoch)

        # train for one epoch
        train(train_loader, model, criterion, optimizer, epoch, device, args)

        # evaluate on validation set
        acc1 = validate(val_loader, model, criterion, args)

        scheduler.step()

        # remember best acc@1 and save checkpoint
        is_best = acc1 > best_acc1
        best_acc1 = max(acc1, best_acc1)
        args.lrs.append(optimizer.param_groups[0]['lr'])     # differs: the test reads each epoch's lr

        if not args.multiprocessing_distributed or (args.multiprocessing_distributed
                and args.rank % ngpus_per_node == 0):
            save_checkpoint({
                'epoch': epoch + 1,
                'arch': args.arch,
                'state_dict': model.state_dict(),
                'best_acc1': best_acc1,
                'optimizer' : optimizer.state_dict(),
                'scheduler' : scheduler.state_dict()
            }, is_best)
    return model, optimizer, scheduler     # differs: the test reads them


def train(train_loader, model, criterion, optimizer, epoch, device, args):
    batch_time = AverageMeter('Time', ':6.3f')
    data_time = AverageMeter('Data', ':6.3f')
    losses = AverageMeter('Loss', ':.4e')
    top1 = AverageMeter('Acc@1', ':6.2f')
    top5 = AverageMeter('Acc@5', ':6.2f')
    progress = ProgressMeter(
        len(train_loader),
        [batch_time, data_time, losses, top1, top5],
        prefix="Epoch: [{}]".format(epoch))

    # switch to train mode
    model.train()

    end = time.time()
    for i, (images, target) in enumerate(train_loader):
        # measure data loading time
        data_time.update(time.time() - end)

        # move data to the same device as model
        images = images.to(device, non_blocking=True)
        target = target.to(device, non_blocking=True)

        # compute output
        output = model(images)
        loss = criterion(output, target)

        # measure accuracy and record loss
        acc1, acc5 = accuracy(output, target, topk=(1, 2))     # differs: topk=(1, 5) of 1000 classes; 4 here
        losses.update(loss.item(), images.size(0))
        top1.update(acc1[0], images.size(0))
        top5.update(acc5[0], images.size(0))

        # compute gradient and do SGD step
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        # measure elapsed time
        batch_time.update(time.time() - end)
        end = time.time()

        if i % args.print_freq == 0:
            progress.display(i + 1)


def validate(val_loader, model, criterion, args):

    def run_validate(loader, base_progress=0):
        with torch.no_grad():
            end = time.time()
            for i, (images, target) in enumerate(loader):
                i = base_progress + i
                if args.gpu is not None and torch.cuda.is_available():
                    images = images.cuda(args.gpu, non_blocking=True)
                if torch.backends.mps.is_available():
                    images = images.to('mps')
                    target = target.to('mps')
                if torch.cuda.is_available():
                    target = target.cuda(args.gpu, non_blocking=True)

                # compute output
                output = model(images)
                loss = criterion(output, target)

                # measure accuracy and record loss
                acc1, acc5 = accuracy(output, target, topk=(1, 2))
                losses.update(loss.item(), images.size(0))
                top1.update(acc1[0], images.size(0))
                top5.update(acc5[0], images.size(0))

                # measure elapsed time
                batch_time.update(time.time() - end)
                end = time.time()

                if i % args.print_freq == 0:
                    progress.display(i + 1)

    batch_time = AverageMeter('Time', ':6.3f', Summary.NONE)
    losses = AverageMeter('Loss', ':.4e', Summary.NONE)
    top1 = AverageMeter('Acc@1', ':6.2f', Summary.AVERAGE)
    top5 = AverageMeter('Acc@5', ':6.2f', Summary.AVERAGE)
    progress = ProgressMeter(
        len(val_loader) + (args.distributed and (len(val_loader.sampler) * args.world_size < len(val_loader.dataset))),
        [batch_time, losses, top1, top5],
        prefix='Test: ')

    # switch to evaluate mode
    model.eval()

    run_validate(val_loader)

    if args.distributed and (len(val_loader.sampler) * args.world_size < len(val_loader.dataset)):
        aux_val_dataset = Subset(val_loader.dataset,
                                 range(len(val_loader.sampler) * args.world_size, len(val_loader.dataset)))
        aux_val_loader = torch.utils.data.DataLoader(
            aux_val_dataset, batch_size=args.batch_size, shuffle=False,
            num_workers=args.workers, pin_memory=True)
        run_validate(aux_val_loader, len(val_loader))

    progress.display_summary()

    return top1.avg


def save_checkpoint(state, is_best, filename='checkpoint.pth.tar'):
    torch.save(state, filename)
    if is_best:
        shutil.copyfile(filename, 'model_best.pth.tar')


class Summary(Enum):
    NONE = 0
    AVERAGE = 1
    SUM = 2
    COUNT = 3


class AverageMeter(object):
    """Computes and stores the average and current value"""
    def __init__(self, name, fmt=':f', summary_type=Summary.AVERAGE):
        self.name = name
        self.fmt = fmt
        self.summary_type = summary_type
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = '{name} {val' + self.fmt + '} ({avg' + self.fmt + '})'
        return fmtstr.format(**self.__dict__)

    def summary(self):
        fmtstr = ''
        if self.summary_type is Summary.NONE:
            fmtstr = ''
        elif self.summary_type is Summary.AVERAGE:
            fmtstr = '{name} {avg:.3f}'
        elif self.summary_type is Summary.SUM:
            fmtstr = '{name} {sum:.3f}'
        elif self.summary_type is Summary.COUNT:
            fmtstr = '{name} {count:.3f}'
        else:
            raise ValueError('invalid summary type %r' % self.summary_type)

        return fmtstr.format(**self.__dict__)


class ProgressMeter(object):
    def __init__(self, num_batches, meters, prefix=""):
        self.batch_fmtstr = self._get_batch_fmtstr(num_batches)
        self.meters = meters
        self.prefix = prefix

    def display(self, batch):
        entries = [self.prefix + self.batch_fmtstr.format(batch)]
        entries += [str(meter) for meter in self.meters]
        print('\t'.join(entries))

    def display_summary(self):
        entries = [" *"]
        entries += [meter.summary() for meter in self.meters]
        print(' '.join(entries))

    def _get_batch_fmtstr(self, num_batches):
        num_digits = len(str(num_batches // 1))
        fmt = '{:' + str(num_digits) + 'd}'
        return '[' + fmt + '/' + fmt.format(num_batches) + ']'


def accuracy(output, target, topk=(1,)):
    """Computes the accuracy over the k top predictions for the specified values of k"""
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)

        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))

        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def imagenet_run(epochs, resume='', evaluate=False):
    """One run of the script (a new process: best_acc1 starts at 0); differs: `parser.parse_args()`."""
    global best_acc1
    import microgradseq.utils.data.distributed  # noqa: F401 (the script's top-level import)
    best_acc1 = 0
    args = argparse.Namespace(arch='resnet18', workers=4, epochs=epochs, start_epoch=0, batch_size=64, lr=0.1,
                              momentum=0.9, weight_decay=1e-4, print_freq=10, resume=resume, evaluate=evaluate,
                              world_size=-1, rank=-1, gpu=None, multiprocessing_distributed=False,
                              distributed=False, lrs=[])
    result, printed = quietly(main_worker, args.gpu, 1, args)
    return result, args, printed


def test_03_imagenet_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, monkeypatch):
    """A batch holds every training image, so the order shuffle draws does not change a step: a run of 4
    epochs and a run of 2 resumed for 2 more from its checkpoint end with the same weights and optimizer."""
    monkeypatch.chdir(tmp_path)
    (model, optimizer, _), _, _ = imagenet_run(4)
    straight = arrays_of(model.state_dict())
    momentum = [np.array(s["momentum_buffer"]) for s in optimizer.state_dict()["state"].values()]
    imagenet_run(2)
    (model, optimizer, _), args, printed = imagenet_run(4, resume='checkpoint.pth.tar')
    assert "=> loaded checkpoint 'checkpoint.pth.tar' (epoch 2)" in printed and args.start_epoch == 2
    for name, value in arrays_of(model.state_dict()).items():
        np.testing.assert_allclose(value, straight[name], rtol=1e-5, atol=1e-6)
    for i, state in enumerate(optimizer.state_dict()["state"].values()):
        np.testing.assert_allclose(np.array(state["momentum_buffer"]), momentum[i], rtol=1e-5, atol=1e-6)


def test_03_imagenet_steplr_continues_its_schedule_after_resuming(tmp_path, monkeypatch):
    """StepLR(step_size=2, gamma=0.1) after epoch e: 0.1 * 0.1 ** ((e + 1) // 2); the resumed run goes on
    from epoch 2's lr, not from 0.1."""
    monkeypatch.chdir(tmp_path)
    _, first, _ = imagenet_run(2)
    (_, _, scheduler), resumed, _ = imagenet_run(5, resume='checkpoint.pth.tar')
    expected = [0.1 * 0.1 ** ((epoch + 1) // 2) for epoch in range(5)]
    np.testing.assert_allclose(first.lrs + resumed.lrs, expected, rtol=1e-12)
    assert scheduler.last_epoch == 5 and scheduler.get_last_lr() == pytest.approx([1e-3])


def test_03_imagenet_checkpoint_holds_what_the_script_saved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    imagenet_run(2)
    checkpoint = torch.load('checkpoint.pth.tar', map_location='cpu', weights_only=True)
    assert checkpoint['epoch'] == 2 and checkpoint['arch'] == 'resnet18'
    assert isinstance(checkpoint['best_acc1'], torch.Tensor) and checkpoint['best_acc1'].shape == ()
    assert set(checkpoint['scheduler']) >= {'step_size', 'gamma', 'base_lrs', 'last_epoch'}
    assert checkpoint['scheduler']['last_epoch'] == 2 and checkpoint['scheduler']['base_lrs'] == [0.1]
    best = torch.load('model_best.pth.tar')          # copied when an epoch's accuracy was the best so far
    assert best['epoch'] in (1, 2) and float(best['best_acc1']) == float(checkpoint['best_acc1'])


def test_03_imagenet_validation_meters_count_every_validation_image(tmp_path, monkeypatch):
    """--evaluate: one validation pass, whose accuracy is the share of the 10 images whose largest logit
    is their class (computed here with numpy from the model's weights)."""
    monkeypatch.chdir(tmp_path)
    _, _, printed = imagenet_run(0, evaluate=True)
    data = FakeData(10, (3, 2, 2), 4, seed=1)
    weights = {name: np.array(value) for name, value in tiny_model().state_dict().items()}
    hidden = np.maximum(data.images.reshape(10, 12) @ weights['1.weight'].T + weights['1.bias'], 0)
    logits = hidden @ weights['3.weight'].T + weights['3.bias']
    expected = 100.0 * np.mean(logits.argmax(1) == data.targets)
    assert f"Acc@1 {expected:.3f}" in printed


# ---- 4. spro/char-rnn.pytorch ---------------------------------------------------------------------------
# The model (model.py), helpers.py and generate.py are ported, word for word, in porting round 8; this round
# checks what generate.py's sampling draws at a temperature.
from test_pytorch_porting_8 import CharRNN, all_characters, generate, n_characters  # noqa: E402


def constant_decoder(logits_by_char):
    """A CharRNN whose output is the given logits whatever its input (its decoder's weight zeroed)."""
    decoder = CharRNN(n_characters, 8, n_characters, n_layers=1)
    bias = np.full(n_characters, -30.0, dtype=np.float32)
    for char, logit in logits_by_char.items():
        bias[all_characters.index(char)] = logit
    decoder.decoder.weight.data = np.zeros((n_characters, 8), dtype=np.float32)
    decoder.decoder.bias.data = bias
    return decoder


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_04_generate_samples_characters_from_the_softmax_at_its_temperature(temperature):
    """`exp(logits / T)` into torch.multinomial draws char i with probability softmax(logits / T)[i]:
    with logits a: 2, b: 1, c: 0, T = 0.5 gives (0.867, 0.117, 0.016), T = 2 (0.506, 0.307, 0.186).
    500 draws each: every count within 4.5 standard deviations of its binomial mean."""
    torch.manual_seed(1)
    logits = np.array([2.0, 1.0, 0.0])
    text = generate(constant_decoder(dict(zip("abc", logits))), 'x', 500, temperature=temperature)[1:]
    expected = np.exp(logits / temperature) / np.exp(logits / temperature).sum()
    counts = np.array([text.count(c) for c in "abc"])
    assert counts.sum() == 500
    assert np.all(np.abs(counts - 500 * expected) <= 4.5 * np.sqrt(500 * expected * (1 - expected)) + 1)


# ---- 5. WeightedRandomSampler (fclairec/geometric-ifc test.py) ------------------------------------------

def weighted_sampler_script():
    """The script as written; differs: `from torch_geometric.data import DataLoader` is PyTorch's own here."""
    from microgradseq.utils.data import WeightedRandomSampler
    from microgradseq.utils.data import DataLoader
    numDataPoints = 1000
    data_dim = 5
    bs = 100

    # Create dummy data with class imbalance 9 to 1
    data = torch.FloatTensor(numDataPoints, data_dim)
    target = np.hstack((np.zeros(int(numDataPoints * 0.9), dtype=np.int32),
                        np.ones(int(numDataPoints * 0.1), dtype=np.int32)))

    print ('target train 0/1: {}/{}'.format(
        len(np.where(target == 0)[0]), len(np.where(target == 1)[0])))

    class_sample_count = np.array(
        [len(np.where(target == t)[0]) for t in np.unique(target)])
    weight = 1. / class_sample_count
    samples_weight = np.array([weight[t] for t in target])

    samples_weight = torch.from_numpy(samples_weight)
    samples_weigth = samples_weight.double()  # noqa: F841 (as written)
    sampler = WeightedRandomSampler(samples_weight, len(samples_weight))

    target = torch.from_numpy(target).long()
    train_dataset = torch.utils.data.TensorDataset(data, target)

    train_loader = DataLoader(
        train_dataset, batch_size=bs, num_workers=1, sampler=sampler)

    for i, (data, target) in enumerate(train_loader):
        print ("batch index {}, 0/1: {}/{}".format(
            i,
            len(np.where(target.numpy() == 0)[0]),
            len(np.where(target.numpy() == 1)[0])))
    return types.SimpleNamespace(**locals())


def test_05_weighted_random_sampler_draws_balanced_batches_from_imbalanced_data():
    """Each class's weights sum to 1 (900 x 1/900, 100 x 1/100), so each draw is class 1 with probability
    1/2: 1000 draws give 500 +- 5 * sqrt(250) ones; 10 batches of 100 (len(sampler) is 1000)."""
    torch.manual_seed(0)
    run, printed = quietly(weighted_sampler_script)
    assert "target train 0/1: 900/100" in printed
    lines = [line for line in printed.splitlines() if line.startswith("batch index")]
    assert len(lines) == 10 == len(run.train_loader)
    ones = sum(int(line.rsplit("/", 1)[1]) for line in lines)
    assert abs(ones - 500) <= 5 * math.sqrt(250)


# ---- 6. PyTorch's IterableDataset example -----------------------------------------------------------------

def my_iterable_dataset():
    """The docstring's class (made when the test runs: a library without IterableDataset fails there)."""
    class MyIterableDataset(torch.utils.data.IterableDataset):
        def __init__(self, start, end):
            super(MyIterableDataset).__init__()
            assert end > start, "this example code only works with end >= start"
            self.start = start
            self.end = end

        def __iter__(self):
            worker_info = torch.utils.data.get_worker_info()
            if worker_info is None:  # single-process data loading, return the full iterator
                iter_start = self.start
                iter_end = self.end
            else:  # in a worker process
                # split workload
                per_worker = int(math.ceil((self.end - self.start) / float(worker_info.num_workers)))
                worker_id = worker_info.id
                iter_start = self.start + worker_id * per_worker
                iter_end = min(iter_start + per_worker, self.end)
            return iter(range(iter_start, iter_end))

    return MyIterableDataset


def test_06_iterable_dataset_example_loads_its_range_in_one_process():
    """The docstring's own output for single-process loading: [tensor([3]), tensor([4]), tensor([5]),
    tensor([6])] (PyTorch 2.13), and with batch_size=2 two batches."""
    MyIterableDataset = my_iterable_dataset()
    ds = MyIterableDataset(start=3, end=7)
    assert [t.tolist() for t in torch.utils.data.DataLoader(ds, num_workers=0)] == [[3], [4], [5], [6]]
    assert [t.tolist() for t in torch.utils.data.DataLoader(ds, batch_size=2)] == [[3, 4], [5, 6]]


# ---- the gaps ---------------------------------------------------------------------------------------------

from microgradseq.utils.data import (BatchSampler, DataLoader, Dataset, RandomSampler,  # noqa: E402
                                     SequentialSampler, TensorDataset)


def test_gap_G1_a_loaders_sampler_and_batch_sampler_are_pytorchs():
    """PyTorch 2.13: DataLoader(range(10), batch_size=3, drop_last=True) has a SequentialSampler in a
    BatchSampler(batch_size=3, drop_last=True) giving [[0, 1, 2], [3, 4, 5], [6, 7, 8]]; shuffle=True a
    RandomSampler; batch_size=None no batch sampler."""
    loader = DataLoader(range(10), batch_size=3, drop_last=True)
    assert type(loader.sampler) is SequentialSampler and type(loader.batch_sampler) is BatchSampler
    assert loader.batch_sampler.sampler is loader.sampler and loader.batch_sampler.batch_size == 3
    assert list(loader.batch_sampler) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and loader.batch_sampler.drop_last
    assert type(DataLoader(range(10), shuffle=True).sampler) is RandomSampler
    assert DataLoader(range(10), batch_size=None).batch_sampler is None


def test_gap_G1_len_of_a_loaders_sampler_is_the_number_of_items_an_epoch_visits():
    """Udacity-style `valid_loss / len(valid_loader.sampler)` and imagenet's validate read it."""
    dataset = TensorDataset(torch.zeros(10, 2))
    assert len(DataLoader(dataset, batch_size=4).sampler) == 10
    assert len(DataLoader(dataset, batch_size=4, shuffle=True).sampler) == 10
    given = RandomSampler(dataset, num_samples=6)
    assert DataLoader(dataset, batch_size=4, sampler=given).sampler is given


def test_gap_G1_a_shuffled_loaders_random_sampler_draws_from_the_loaders_generator():
    """The loader's order and its sampler's are numpy's permutation of the generator given."""
    loader = DataLoader(range(8), batch_size=8, shuffle=True, generator=np.random.default_rng(5))
    assert loader.sampler.generator is loader.generator
    np.testing.assert_array_equal(next(iter(loader)).numpy(), np.random.default_rng(5).permutation(8))


def test_gap_G2_torch_utils_data_distributed_gives_each_replica_its_share():
    """PyTorch 2.13: 10 items over 3 replicas without shuffle: rank 2 gets [2, 5, 8, 1] (padded with the
    start), with drop_last [2, 5, 8]; the shares of all ranks cover every item."""
    from microgradseq.utils.data.distributed import DistributedSampler
    assert list(DistributedSampler(range(10), num_replicas=3, rank=2, shuffle=False)) == [2, 5, 8, 1]
    assert list(DistributedSampler(range(10), num_replicas=3, rank=2, shuffle=False, drop_last=True)) == [2, 5, 8]
    shares = [list(DistributedSampler(range(10), num_replicas=3, rank=r, seed=7)) for r in range(3)]
    assert set(sum(shares, [])) == set(range(10))
    assert all(len(share) == 4 for share in shares)


def test_gap_G2_distributed_sampler_draws_a_new_order_after_set_epoch():
    from microgradseq.utils.data.distributed import DistributedSampler
    sampler = DistributedSampler(range(50), num_replicas=1, rank=0, seed=3)
    first = list(sampler)
    assert list(sampler) == first and sorted(first) == list(range(50))
    sampler.set_epoch(1)
    assert list(sampler) != first and sorted(sampler) == list(range(50))


def test_gap_G2_distributed_sampler_without_a_process_group_names_what_to_give():
    from microgradseq.utils.data.distributed import DistributedSampler
    with pytest.raises(RuntimeError, match="DistributedSampler: give num_replicas and rank"):
        DistributedSampler(range(10))
    with pytest.raises(ValueError, match=r"DistributedSampler: Invalid rank 2, rank should be in the interval "
                                         r"\[0, 1\]"):
        DistributedSampler(range(10), num_replicas=2, rank=2)


def test_gap_G3_weighted_random_sampler_draws_indices_in_proportion_to_their_weights():
    """weights (1, 3, 0, 6): index i with probability w_i / 10; 4000 draws within 5 standard deviations."""
    from microgradseq.utils.data import WeightedRandomSampler
    sampler = WeightedRandomSampler(torch.tensor([1.0, 3.0, 0.0, 6.0]), 4000, generator=np.random.default_rng(0))
    drawn = list(sampler)
    assert len(sampler) == 4000 == len(drawn) and all(type(i) is int for i in drawn)
    counts = np.bincount(drawn, minlength=4)
    p = np.array([0.1, 0.3, 0.0, 0.6])
    assert counts[2] == 0
    assert np.all(np.abs(counts - 4000 * p) <= 5 * np.sqrt(4000 * p * (1 - p)))


def test_gap_G3_weighted_random_sampler_without_replacement_draws_each_index_at_most_once():
    from microgradseq.utils.data import WeightedRandomSampler
    torch.manual_seed(0)
    assert sorted(WeightedRandomSampler([1.0, 1.0, 0.0, 1.0], 3, replacement=False)) == [0, 1, 3]


def test_gap_G3_weighted_random_sampler_refuses_bad_arguments_naming_itself():
    """PyTorch's words for num_samples, replacement and the weights' shape; negative weights (a RuntimeError
    of multinomial's at the first draw in PyTorch) are refused when the sampler is made."""
    from microgradseq.utils.data import WeightedRandomSampler
    with pytest.raises(ValueError, match="WeightedRandomSampler: num_samples should be a positive integer value, "
                                         "but got num_samples=0"):
        WeightedRandomSampler([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="WeightedRandomSampler: replacement should be a boolean value"):
        WeightedRandomSampler([1.0, 2.0], 2, "yes")
    with pytest.raises(ValueError, match=r"WeightedRandomSampler: weights should be a 1d sequence but given "
                                         r"weights have shape \(1, 2\)"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="WeightedRandomSampler: weights must be finite and non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)


def test_gap_G3_a_sampler_subclass_of_pytorchs_generic_base_drives_a_loader():
    from microgradseq.utils.data import Sampler

    class EvenIndices(Sampler[int]):
        def __init__(self, data_source):
            self.data_source = data_source

        def __iter__(self):
            return iter(range(0, len(self.data_source), 2))

        def __len__(self):
            return (len(self.data_source) + 1) // 2

    loader = DataLoader(range(10, 17), batch_size=3, sampler=EvenIndices(range(7)))
    assert [b.tolist() for b in loader] == [[10, 12, 14], [16]] and len(loader) == 2


class Tokens(Dataset):
    """Hugging Face-style items: a dict of tensors and a label, and the text each came from."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"input_ids": torch.tensor([i, i + 1]), "labels": i, "text": f"line {i}"}


def test_gap_G4_dict_items_collate_key_by_key():
    """PyTorch 2.13: {'input_ids': tensor (3, 2) int64, 'labels': tensor([0, 1, 2]), 'text': [3 str]}."""
    batch = next(iter(DataLoader(Tokens(), batch_size=3)))
    assert type(batch) is dict and list(batch) == ["input_ids", "labels", "text"]
    np.testing.assert_array_equal(batch["input_ids"].numpy(), [[0, 1], [1, 2], [2, 3]])
    assert batch["labels"].dtype == np.int64 and batch["labels"].tolist() == [0, 1, 2]
    assert batch["text"] == ["line 0", "line 1", "line 2"]


def test_gap_G4_strings_beside_tensors_come_as_the_batchs_tuple_of_strings():
    """PyTorch 2.13: items (tensor, 'file0.png') give [tensor (3, 2), ('file0.png', 'file1.png', 'file2.png')]."""
    class Files(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return torch.ones(2) * i, f"file{i}.png"

    images, names = next(iter(DataLoader(Files(), batch_size=3)))
    assert names == ("file0.png", "file1.png", "file2.png") and images.shape == (3, 2)


def test_gap_G4_named_tuples_collate_to_the_named_tuple_and_default_collate_is_public():
    """PyTorch 2.13: default_collate([P(1, 2.0), P(3, 4.0)]) is P(x=tensor([1, 3]), y=tensor([2., 4.],
    dtype=float64)); it is importable from torch.utils.data and torch.utils.data.dataloader."""
    from microgradseq.utils.data import default_collate, default_convert
    from microgradseq.utils.data.dataloader import default_collate as from_dataloader
    P = collections.namedtuple("P", "x y")
    batch = default_collate([P(1, 2.0), P(3, 4.0)])
    assert type(batch) is P and batch.x.tolist() == [1, 3] and batch.y.dtype == np.float64
    assert from_dataloader is default_collate
    converted = default_convert({"a": np.ones(2)})
    assert isinstance(converted["a"], torch.Tensor) and converted["a"].dtype == np.float64


def test_gap_G4_a_collate_fn_that_drops_missing_items_calls_default_collate():
    """A common collate_fn: `batch = [b for b in batch if b is not None]; return default_collate(batch)`."""
    from microgradseq.utils.data.dataloader import default_collate

    class Gappy(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return None if i % 3 == 0 else (torch.tensor([float(i)]), i)

    def collate_fn(batch):
        batch = list(filter(lambda x: x is not None, batch))
        return default_collate(batch)

    batches = [[x.tolist(), y.tolist()] for x, y in DataLoader(Gappy(), batch_size=3, collate_fn=collate_fn)]
    assert batches == [[[[1.0], [2.0]], [1, 2]], [[[4.0], [5.0]], [4, 5]]]


def test_gap_G4_dict_items_with_different_keys_name_dataloader():
    class Ragged(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {"a": i} if i == 0 else {"b": i}

    with pytest.raises(ValueError, match=r"DataLoader: the dataset's dict items must all have the same keys, "
                                         r"got \['a'\] and \['b'\]"):
        next(iter(DataLoader(Ragged(), batch_size=2)))


def test_gap_G5_concat_dataset_indexes_its_datasets_in_turn():
    """PyTorch 2.13: ConcatDataset of 3 and 4 items: cumulative_sizes [3, 7], [3] is the second's [0],
    [-1] its last, [-7] the first's [0]; [7] IndexError, [-8] ValueError."""
    both = torch.utils.data.ConcatDataset([TensorDataset(torch.arange(3)), TensorDataset(torch.arange(10, 14))])
    assert both.cumulative_sizes == [3, 7] and len(both) == 7
    assert [int(both[i][0]) for i in (0, 3, -1, -7)] == [0, 10, 13, 0]
    with pytest.raises(IndexError, match="ConcatDataset: index 7 is out of range for 7 items"):
        both[7]
    with pytest.raises(ValueError, match="ConcatDataset: absolute value of index should not exceed"):
        both[-8]


def test_gap_G5_adding_datasets_concatenates_them_for_a_loader():
    train, extra = TensorDataset(torch.arange(3)), TensorDataset(torch.arange(10, 12))
    loader = DataLoader(train + extra, batch_size=2)
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 10], [11]] and len(loader) == 3


def test_gap_G5_pytorchs_generic_dataset_spelling_subclasses():
    class Pairs(Dataset[tuple]):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return torch.tensor(float(i)), i

    xb, yb = next(iter(DataLoader(Pairs(), batch_size=2)))
    assert xb.tolist() == [0.0, 1.0] and yb.tolist() == [0, 1]


def test_gap_G5_a_loader_over_an_iterable_dataset_batches_its_stream():
    """PyTorch 2.13 for the range 3..6: batch_size=3 gives [3, 4, 5], [6]; with drop_last [3, 4, 5];
    batch_size=None the items as they are; len() of a dataset without one is a TypeError."""
    ds = my_iterable_dataset()(3, 7)
    assert [b.tolist() for b in DataLoader(ds, batch_size=3)] == [[3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(ds, batch_size=3, drop_last=True)] == [[3, 4, 5]]
    assert list(DataLoader(ds, batch_size=None)) == [3, 4, 5, 6]
    with pytest.raises(TypeError, match="DataLoader: len\\(\\) of a loader over an IterableDataset needs"):
        len(DataLoader(ds, batch_size=3))


def test_gap_G5_an_iterable_dataset_with_a_length_gives_the_loaders_length():
    class Counted(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    assert len(DataLoader(Counted(), batch_size=3)) == 3 and len(DataLoader(Counted(), batch_size=3,
                                                                            drop_last=True)) == 2


@pytest.mark.parametrize("option", [dict(shuffle=True), dict(sampler=[0, 1]), dict(batch_sampler=[[0]])],
                         ids=["shuffle", "sampler", "batch_sampler"])
def test_gap_G5_an_iterable_dataset_refuses_an_order_of_the_loaders(option):
    """PyTorch 2.13's words: 'DataLoader with IterableDataset: expected unspecified shuffle option, but got
    shuffle=True' (and sampler, batch_sampler)."""
    name = next(iter(option))
    with pytest.raises(ValueError, match=f"DataLoader with IterableDataset: expected unspecified {name} option"):
        DataLoader(my_iterable_dataset()(3, 7), **option)


def test_gap_G5_chain_dataset_and_adding_iterable_datasets_chain_their_streams():
    MyIterableDataset = my_iterable_dataset()
    chained = torch.utils.data.ChainDataset([MyIterableDataset(3, 5), MyIterableDataset(10, 12)])
    assert list(chained) == [3, 4, 10, 11]
    assert list(MyIterableDataset(0, 2) + MyIterableDataset(5, 6)) == [0, 1, 5]
    assert torch.utils.data.get_worker_info() is None


def test_gap_G6_save_accepts_pytorchs_format_options_and_load_reads_the_file(tmp_path):
    """`torch.save(state, path, _use_new_zipfile_serialization=False)` (torch < 1.6 compatible files) and
    `pickle_protocol=4`: accepted; the file is the same archive, which load reads back."""
    state = {"w": np.arange(3.0), "epoch": 2}
    torch.save(state, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    torch.save(state, tmp_path / "p4.pt", pickle_protocol=4)
    for name in ("old.pt", "p4.pt"):
        loaded = torch.load(tmp_path / name)
        assert loaded["epoch"] == 2 and loaded["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="save: pickle_protocol must be an integer"):
        torch.save(state, tmp_path / "x.pt", pickle_protocol="4")
    with pytest.raises(ValueError, match="save: _use_new_zipfile_serialization must be True or False"):
        torch.save(state, tmp_path / "x.pt", _use_new_zipfile_serialization="no")


def test_gap_G6_load_with_mmap_reads_a_path_and_refuses_a_file_object(tmp_path):
    """PyTorch: `torch.load(path, mmap=True, weights_only=True)`; a file object with mmap=True is a
    ValueError, 'f must be a file path in order to use the mmap argument'."""
    model = nn.Linear(2, 3)
    torch.save(model.state_dict(), tmp_path / "m.pt")
    twin = nn.Linear(2, 3)
    twin.load_state_dict(torch.load(tmp_path / "m.pt", mmap=True, weights_only=True))
    np.testing.assert_array_equal(np.array(twin.weight.detach()), np.array(model.weight.detach()))
    with open(tmp_path / "m.pt", "rb") as f, pytest.raises(
            ValueError, match="load: f must be a file path in order to use the mmap argument"):
        torch.load(f, mmap=True)


def test_gap_G7_worker_init_fn_of_pytorchs_reproducibility_recipe_is_accepted_and_not_called():
    """PyTorch's "Reproducibility" notes: DataLoader(..., num_workers=..., worker_init_fn=seed_worker,
    generator=g). With num_workers=0 PyTorch never calls it (no worker starts); here no worker ever does."""
    called = []

    def seed_worker(worker_id):
        called.append(worker_id)

    g = torch.Generator()
    g.manual_seed(0)
    loader = DataLoader(range(6), batch_size=3, shuffle=True, num_workers=2, worker_init_fn=seed_worker, generator=g)
    assert sorted(sum((b.tolist() for b in loader), [])) == list(range(6))
    assert called == [] and loader.worker_init_fn is seed_worker
    with pytest.raises(TypeError, match="DataLoader: expected worker_init_fn a function of a worker's id"):
        DataLoader(range(6), worker_init_fn=3)

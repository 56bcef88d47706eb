"""The fine-tuning loop behind `mcucompress finetune`: a float model file plus labelled data in, a fine-tuned
(optionally pruned, optionally int8 by QAT) .tflite out.

Adam with per-tensor learning rates relative to each tensor's RMS (`lr` is the relative step) and a cosine
decay, cross-entropy on the logits (the input of a final SOFTMAX) against
the labels `y`, or MSE to the input (`loss='mse'`, autoencoders). Every epoch ends with a checkpoint in
the checkpoint folder (model, optimizer, schedule, pruner and QAT state, random generators), written to a
temporary name and renamed; a run started again with the same arguments resumes after the last finished
epoch. With validation data (`val`, or `val_split` of the training samples held back) the best epoch is the
one exported, among the epochs where the final sparsity is in place and the QAT observers are frozen.
Every check on the data happens before anything is written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from mcucompress.datafiles import read_data
from mcucompress.dataset import check_labels, fit_samples
from mcucompress.errors import DataError, McuError
from mcucompress.fileio import write_atomic
from mcucompress.ir import Graph
from mcucompress.torch.augment import cutmix_with_partners, flip_shift
from mcucompress.torch.bridge import GraphModule
from mcucompress.torch.prune import END_FRACTION


@dataclass
class FinetuneConfig:
    epochs: int = 3
    batch_size: int = 64
    lr: float = 3e-3  # relative: each Adam step moves a tensor by about lr x its RMS
    seed: int = 0
    loss: str = "ce"  # 'ce' (labels y) or 'mse' (reconstruct the input)
    qat: bool = False
    observe_steps: int | None = None  # QAT observers freeze after this many steps (default: half an epoch)
    prune: str | None = None  # unstructured, 2:4, 1:4, channels
    sparsity: float | None = None
    schedule: str = "oneshot"
    allocation: str = "global"  # unstructured ratios per layer: global (RMS-normalized threshold), uniform, erk
    keep_layers: tuple[str, ...] = ()  # conv/FC layers left whole by the pruning
    prune_end: float = END_FRACTION  # gradual: the fraction of the training at which the final sparsity is reached
    rounds: int = 3  # iterative schedule
    val_split: float = 0.1  # held back from the training data when no validation file is given
    max_train: int | None = None  # use only the first N training samples (quick runs)
    augment: bool = False  # random horizontal flips and 4-pixel shifts per image
    cutmix: bool = False  # CutMix (Yun et al. 2019): labels weighted by area; the teacher labels the mixed image
    distill: float = 0.0  # weight of the distillation loss toward the input model's logits (0: labels only)
    temperature: float = 4.0  # of that distillation (Hinton et al.)
    normalize: str | None = None  # --normalize of the data (mcucompress.normalize)
    batchnorm: bool = False  # BatchNorm after every convolution while training, folded back on export


# -- data ----------------------------------------------------------------------------------------------
def load_training_data(path, graph: Graph, loss: str, name: str = "training data",
                       normalize: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """x [N, input shape] float32 (NHWC; the file's declared layout is read as dataset.py does) and integer
    labels (None for 'mse'); every problem one DataError line."""
    t = graph.t(graph.inputs[0])
    raw = read_data(path, tuple(t.shape[1:]) if len(t.shape) == 4 else None)
    x, y = raw.x, raw.y
    if x.dtype == np.uint8 and normalize is None:
        x = x.astype(np.float32)  # 8-bit images without --normalize: their raw values are the model's float input
    if loss == "ce" and y is None:
        raise DataError(f"{path}: no labels 'y' in the file; give integer class labels, or --loss mse to "
                        "reconstruct the input (autoencoders)")
    # shape, layout, values and label checks
    samples = fit_samples(path, x, y if loss == "ce" else None, t, graph.input_perm(), normalize, raw.channels_last)
    x = samples.x
    if loss == "ce":
        classes = int(np.prod(graph.t(graph.outputs[0]).shape[1:]))
        check_labels(path, samples.y, classes)
        return x, samples.y.astype(np.int64)
    if int(np.prod(graph.t(graph.outputs[0]).shape[1:])) != int(np.prod(t.shape[1:])):
        raise DataError(f"--loss mse reconstructs the input, but model output '{graph.outputs[0]}' has "
                        f"{graph.t(graph.outputs[0]).shape} and input '{t.name}' {t.shape}; use --loss ce with labels")
    return x, None


def evaluate(module: GraphModule, x: np.ndarray, y: np.ndarray | None, loss: str, batch: int = 256) -> dict:
    """Validation loss and top-1 (fake-quantized when QAT is on)."""
    module.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch])
            if loss == "ce":
                logits = module(xb, logits=True)
                yb = torch.from_numpy(y[i:i + batch])
                total += float(F.cross_entropy(logits, yb, reduction="sum"))
                correct += int((logits.argmax(1) == yb).sum())
            else:
                out = module(xb)
                total += float(F.mse_loss(out.reshape(len(xb), -1), xb.reshape(len(xb), -1), reduction="sum"))
    n = max(len(x), 1)
    return {"loss": total / n, "top1": correct / n if loss == "ce" else None}


def distillation_loss(logits: torch.Tensor, teacher: GraphModule, xb: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al.'s soft-target loss: KL(teacher || student) at `temperature`, scaled by T^2 so its
    gradients keep the size of the cross-entropy's. The teacher is the model as it came in (unpruned, float),
    so a pruned or quantized student is pulled toward what the dense model predicts on the same image."""
    with torch.no_grad():
        target = F.softmax(teacher(xb, logits=True) / temperature, dim=1)
    return F.kl_div(F.log_softmax(logits / temperature, dim=1), target, reduction="batchmean") * temperature ** 2


def relative_lr_groups(module: torch.nn.Module, lr: float) -> list[dict]:
    """One Adam parameter group per tensor with learning rate lr x the tensor's RMS: Adam moves every weight
    by about its learning rate per step whatever its scale, and BatchNorm folding leaves layers whose weights
    differ by 100x (ResNet-8's first convolution, fed 0..255, has RMS 0.0045; a plain lr of 3e-4 wrecks it
    in one epoch)."""
    groups = []
    for p in module.parameters():
        rms = float(p.detach().float().pow(2).mean().sqrt()) if p.numel() else 0.0
        groups.append({"params": [p], "lr": lr * max(rms, 1e-6)})
    return groups


def split_indices(n: int, cfg: FinetuneConfig, val_file: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(training indices, validation indices or None) into the N samples of the training file: a seeded subset
    of max_train samples (files are often sorted by class), then val_split of it held back unless a validation
    file is given. Benchmarks use it to score the exported model on the very samples validation saw."""
    idx = np.arange(n)
    if cfg.max_train and cfg.max_train < n:
        idx = np.sort(np.random.default_rng(cfg.seed + 2).permutation(n)[:cfg.max_train])
    if val_file or not (cfg.val_split > 0 and len(idx) >= 10):
        return idx, None
    perm = np.random.default_rng(cfg.seed).permutation(len(idx))
    n_val = max(1, round(cfg.val_split * len(idx)))
    return idx[np.sort(perm[n_val:])], idx[perm[:n_val]]


# -- checkpoints -----------------------------------------------------------------------------------------
# Options added after checkpoints were written: those resume unless the option is used.
LATER_OPTIONS = ("cutmix", "keep_layers", "prune_end", "batchnorm")


def _fingerprint(model_path, data_path, cfg: FinetuneConfig, val_path) -> str:
    h = hashlib.sha256(Path(model_path).read_bytes())
    for p in (data_path, val_path):
        if p is not None:
            st = os.stat(p)
            h.update(f"{Path(p).resolve()}:{st.st_size}:{int(st.st_mtime)}".encode())
    options = asdict(cfg)
    for name in LATER_OPTIONS:  # at their defaults they leave the fingerprint as it was before they existed
        if options[name] == getattr(FinetuneConfig, name):
            del options[name]
    h.update(json.dumps(options, sort_keys=True).encode())
    return h.hexdigest()[:16]


def _save(path: Path, state: dict) -> None:
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def _optimizer(module: torch.nn.Module, lr: float, total: int, done: int):
    """Adam over `module` with relative learning rates, and the cosine decay over `total` steps, `done` of them
    already taken (a module rebuilt by a channel round continues the same curve)."""
    opt = torch.optim.Adam(relative_lr_groups(module, lr))
    for group in opt.param_groups:
        group["initial_lr"] = group["lr"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)),
                                              last_epoch=done - 1)
    return opt, sched


# -- the run -----------------------------------------------------------------------------------------------
def finetune(model_path, data_path, out_path, cfg: FinetuneConfig, val_path=None, checkpoint_dir=None,
             progress: bool = True, log=print) -> dict:
    """Fine-tune `model_path` on `data_path` and write `out_path` (.tflite); returns the run report."""
    from mcucompress.driver import load
    from mcucompress.frontend import tflite_writer
    from mcucompress.torch.batchnorm import insert_batchnorm
    from mcucompress.torch.prune import Pruner
    from mcucompress.torch.qat import enable_qat

    _check_config(cfg)
    graph = load(model_path)
    if graph.is_quantized or any(t.dtype == "int8" for t in graph.tensors.values()):
        raise McuError(f"{model_path}: finetune takes a float32 model (train in float, then --qat or quantize); "
                       "this one is int8")
    x, y = load_training_data(data_path, graph, cfg.loss, normalize=cfg.normalize)
    train_idx, val_idx = split_indices(len(x), cfg, val_path is not None)
    if val_path is not None:
        xv, yv = load_training_data(val_path, graph, cfg.loss, "validation data", cfg.normalize)
    elif val_idx is not None:
        xv, yv = x[val_idx], (y[val_idx] if y is not None else None)
    else:
        xv = yv = None
    x, y = x[train_idx], (y[train_idx] if y is not None else None)
    out_path = Path(out_path)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else out_path.with_name(out_path.name + ".ckpt")
    fingerprint = _fingerprint(model_path, data_path, cfg, val_path)

    torch.manual_seed(cfg.seed)
    module = GraphModule(graph)
    teacher = GraphModule(graph).eval() if cfg.distill > 0 and cfg.loss == "ce" else None  # before any pruning
    steps_per_epoch = math.ceil(len(x) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    calib = x[np.random.default_rng(cfg.seed + 1).permutation(len(x))[:512]]
    pruner = None
    if cfg.prune:
        pruner = Pruner(module, method=cfg.prune, sparsity=cfg.sparsity if cfg.sparsity is not None else 0.5,
                        schedule=cfg.schedule, total_steps=total, calibration=calib, rounds=cfg.rounds,
                        allocation=cfg.allocation, keep=cfg.keep_layers,
                        end_step=max(1, int(cfg.prune_end * total)),
                        frequency=max(1, steps_per_epoch // 8))
        module = pruner.model
        for note in pruner.notes:
            log(f"prune: {note}")
    if cfg.batchnorm:
        log(f"batchnorm: {insert_batchnorm(module, calib)} convolutions train with BatchNorm, folded on export")
    if cfg.qat:
        observe = cfg.observe_steps if cfg.observe_steps is not None else max(1, steps_per_epoch // 2)
        enable_qat(module, calib, observe_steps=observe)
    opt, sched = _optimizer(module, cfg.lr, total, 0)
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    best = None  # (score, epoch, module state, fake-quant state)
    start_epoch = 0
    last = ckpt_dir / "last.pt"
    if last.exists():
        state = torch.load(last, weights_only=False)
        if state.get("fingerprint") != fingerprint:
            raise McuError(f"{ckpt_dir}: holds a checkpoint of a different run (model, data or options changed); "
                           "delete it or give --checkpoint-dir")
        if pruner is not None:
            pruner.load_state_dict(state["pruner"])
            if pruner.model is not module:  # channels removed in a later round than the first
                module = pruner.model
                opt, sched = _optimizer(module, cfg.lr, total, 0)
        module.load_state_dict(state["module"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if cfg.qat:
            module.fake_quant.load_state(state["fake_quant"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1
        log(f"resuming from {last} after epoch {start_epoch} of {cfg.epochs}")
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y) if y is not None else None
    for epoch in range(start_epoch, cfg.epochs):
        module.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(xt), generator=gen)
        bar = tqdm(range(0, len(xt), cfg.batch_size), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch",
                   disable=None if progress else True, leave=True)  # None: no bar when not a terminal
        running, seen = 0.0, 0
        for i in bar:
            idx = perm[i:i + cfg.batch_size]
            xb = xt[idx]
            if cfg.augment:
                xb = flip_shift(xb, gen)
            partner, keep = None, None
            if cfg.cutmix:
                xb, partner, keep = cutmix_with_partners(xb, gen)
            opt.zero_grad()
            if cfg.loss == "ce":
                logits = module(xb, logits=True)
                yb = yt[idx]
                if partner is None:
                    loss = F.cross_entropy(logits, yb)
                else:  # each label by the share of the image it still covers
                    loss = (keep * F.cross_entropy(logits, yb, reduction="none") +
                            (1 - keep) * F.cross_entropy(logits, yb[partner], reduction="none")).mean()
                if teacher is not None:
                    loss = (1 - cfg.distill) * loss + cfg.distill * distillation_loss(logits, teacher, xb,
                                                                                       cfg.temperature)
            else:
                loss = F.mse_loss(module(xb).reshape(len(xb), -1), xb.reshape(len(xb), -1))
            loss.backward()
            opt.step()
            sched.step()
            if pruner is not None:
                pruner.step()
                if pruner.model is not module:  # a channel round: a smaller module, a new optimizer
                    module = pruner.model
                    opt, sched = _optimizer(module, cfg.lr, total, sched.last_epoch)
            running += float(loss.detach()) * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{running / seen:.4f}")
        seconds = time.perf_counter() - t0
        entry = {"epoch": epoch + 1, "train_loss": running / max(seen, 1), "seconds": round(seconds, 1)}
        if pruner is not None:
            entry["sparsity"] = round(pruner.current, 4)
        if xv is not None:
            v = evaluate(module, xv, yv, cfg.loss)
            entry.update(val_loss=v["loss"], val_top1=v["top1"])
            eligible = (pruner is None or pruner.done) and (not cfg.qat or module.fake_quant.frozen)
            score = v["top1"] if cfg.loss == "ce" else -v["loss"]
            if eligible and (best is None or score > best[0]):
                best = (score, epoch + 1, copy.deepcopy(module.state_dict()),
                        module.fake_quant.state() if cfg.qat else None)
        history.append(entry)
        _save(last, {"fingerprint": fingerprint, "epoch": epoch, "module": module.state_dict(),
                     "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "generator": gen.get_state(),
                     "torch_rng": torch.get_rng_state(), "pruner": pruner.state_dict() if pruner else None,
                     "fake_quant": module.fake_quant.state() if cfg.qat else None, "history": history,
                     "best": best})
        shown = f", val top-1 {entry['val_top1']:.4f}" if entry.get("val_top1") is not None else (
            f", val loss {entry['val_loss']:.5f}" if "val_loss" in entry else "")
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {entry['train_loss']:.4f}{shown}, {seconds:.0f} s")
    chosen = cfg.epochs
    if best is not None:
        module.load_state_dict(best[2])
        if cfg.qat:
            module.fake_quant.load_state(best[3])
        chosen = best[1]
    if cfg.qat and not module.fake_quant.frozen:
        module.fake_quant.freeze()
    out_graph = module.fake_quant.export_graph() if cfg.qat else module.to_graph()
    tflite_writer.write(out_graph, out_path)
    report = {"model": str(model_path), "output": str(out_path), "config": asdict(cfg), "epochs_run": len(history),
              "best_epoch": chosen, "history": history, "train_samples": len(x),
              "val_samples": len(xv) if xv is not None else 0, "checkpoint_dir": str(ckpt_dir),
              "int8": bool(cfg.qat)}
    if pruner is not None:
        report["pruning"] = {"method": cfg.prune, "sparsity": pruner.sparsity, "schedule": cfg.schedule,
                             "notes": pruner.notes}
    if xv is not None and history:
        report["val_top1"] = next((h.get("val_top1") for h in history if h["epoch"] == chosen), None)
    return report


def _check_config(cfg: FinetuneConfig) -> None:
    if cfg.epochs < 1:
        raise McuError(f"--epochs {cfg.epochs}: give at least 1")
    if cfg.batch_size < 1:
        raise McuError(f"--batch-size {cfg.batch_size}: give at least 1")
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        raise McuError(f"--lr {cfg.lr}: give a positive learning rate, e.g. 1e-3")
    if cfg.loss not in ("ce", "mse"):
        raise McuError(f"--loss {cfg.loss}: use ce (labels) or mse (reconstruct the input)")
    if not (0 <= cfg.val_split < 1):
        raise McuError(f"--val-split {cfg.val_split}: give a fraction in [0, 1)")
    if not 0 <= cfg.distill <= 1:
        raise McuError(f"--distill {cfg.distill}: give the distillation loss weight in [0, 1]")
    if not (cfg.temperature > 0 and math.isfinite(cfg.temperature)):
        raise McuError(f"--temperature {cfg.temperature}: give a positive temperature, e.g. 4")
    if cfg.distill > 0 and cfg.loss != "ce":
        raise McuError("--distill needs --loss ce (it matches the teacher's class probabilities)")
    if cfg.batchnorm and cfg.qat:
        raise McuError("--batchnorm with --qat: QAT simulates the folded int8 weights; fine-tune with --batchnorm "
                       "first, then run --qat on its output")
    if cfg.cutmix and cfg.loss != "ce":
        raise McuError("--cutmix needs --loss ce (it weights two images' labels)")
    if cfg.prune is None and cfg.sparsity is not None:
        raise McuError("--sparsity needs --prune METHOD")
    if not 0 < cfg.prune_end <= 1:
        raise McuError(f"--prune-end {cfg.prune_end}: give the fraction of the training, in (0, 1], by which the "
                       "gradual schedule reaches the final sparsity")
    if cfg.rounds < 1:
        raise McuError(f"--rounds {cfg.rounds}: give at least 1 prune")
    channel_rounds = cfg.prune == "channels" and cfg.schedule == "iterative"
    if cfg.prune_end != FinetuneConfig.prune_end and cfg.schedule != "gradual" and not channel_rounds:
        raise McuError("--prune-end sets where --schedule gradual ends (or where the rounds of --prune channels "
                       "--schedule iterative end); it needs one of them")
    if channel_rounds and (cfg.qat or cfg.batchnorm):
        raise McuError(f"--prune channels --schedule iterative rebuilds the model each round: run it without "
                       f"--{'qat' if cfg.qat else 'batchnorm'} (QAT can follow on its output)")

"""The `ember` command: train a model on a dataset, evaluate a finished run, summarise a model.

    ember train --dataset mnist1d --model resmlp --optimizer adam --lr 1e-2 --epochs 20
    ember evaluate runs/mnist1d-resmlp
    ember summary --model mlp --dataset mnist1d
"""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import sys
import time

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "adadelta")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ember", description="Train, evaluate and inspect "
                                     "ember models from the command line.")
    commands = parser.add_subparsers(dest="command", required=True)

    def data_options(p, required: bool) -> None:
        from ember.datasets.catalog import NAMES

        p.add_argument("--dataset", required=required, choices=NAMES, help="what to train on")
        p.add_argument("--root", help="folder with the dataset's files (MNIST, Fashion-MNIST)")
        p.add_argument("--samples", type=int, default=1000, help="points in a 2-D toy set")
        p.add_argument("--noise", type=float, help="noise of a 2-D toy set")
        p.add_argument("--val-fraction", type=float, default=0.1,
                       help="share of the training data held out for validation")

    def model_options(p) -> None:
        from ember.models import BUILDERS

        p.add_argument("--model", default="mlp",
                       help=f"{', '.join(sorted(BUILDERS))}, or path/to/file.py:function")
        p.add_argument("--hidden", type=int, nargs="+", help="hidden widths (mlp)")
        p.add_argument("--dropout", type=float, help="dropout after hidden layers (mlp)")

    train = commands.add_parser("train", help="train a model and write checkpoint, history "
                                "and plots to --out")
    data_options(train, required=True)
    model_options(train)
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    train.add_argument("--momentum", type=float, default=0.9, help="for momentum/nesterov")
    train.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--patience", type=int, help="stop when val_loss stalls this long")
    train.add_argument("--out", help="output folder (default runs/<dataset>-<model>)")
    train.add_argument("--resume", action="store_true",
                       help="continue from <out>/last.safetensors")
    train.add_argument("--verbose", default="auto", help="auto, 0, 1 (bar) or 2 (lines)")

    evaluate = commands.add_parser("evaluate", help="evaluate a finished run on its test set")
    evaluate.add_argument("run", help="the --out folder of `ember train`")
    evaluate.add_argument("--weights", choices=("final", "best", "last"), default="final")

    summary = commands.add_parser("summary", help="layers, output shapes, parameter counts")
    data_options(summary, required=False)
    model_options(summary)
    summary.add_argument("--input-size", type=int, nargs="+", help="one example's shape")
    summary.add_argument("--num-classes", type=int, default=10)
    return parser


def _model_options(args) -> dict:
    options = {}
    if getattr(args, "hidden", None):
        options["hidden"] = tuple(args.hidden)
    if getattr(args, "dropout", None):
        options["dropout"] = args.dropout
    return options


def build_model(spec: str, input_shape: tuple, num_classes: int, options: dict):
    """A zoo model by name, or `path/to/file.py:function` called with what it accepts of
    (input_shape, num_classes, **options)."""
    from ember import models

    if ":" not in spec:
        return models.build(spec, input_shape, num_classes, **options)
    path, _, name = spec.rpartition(":")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--model {spec}: no file {path!r}")
    module_spec = importlib.util.spec_from_file_location("ember_user_model", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)     # the user's own code, by their request
    if not hasattr(module, name):
        raise AttributeError(f"--model {spec}: {path} defines no {name!r}")
    function = getattr(module, name)
    offered = {"input_shape": input_shape, "num_classes": num_classes, **options}
    accepted = inspect.signature(function).parameters
    return function(**{k: v for k, v in offered.items() if k in accepted})


def _optimizer(args, parameters):
    from ember import optim

    name, lr, decay = args.optimizer, args.lr, args.weight_decay
    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else args.momentum
        return optim.SGD(parameters, lr=lr, momentum=momentum, nesterov=name == "nesterov",
                         weight_decay=decay)
    classes = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
               "adagrad": optim.Adagrad, "adadelta": optim.Adadelta}
    return classes[name](parameters, lr=lr, weight_decay=decay)


def command_train(args) -> int:
    import ember
    from ember.datasets.catalog import load_splits
    from ember.training import EarlyStopping, ModelCheckpoint

    out = args.out or os.path.join("runs", f"{args.dataset}-{args.model.replace(os.sep, '_')}")
    os.makedirs(out, exist_ok=True)
    config = {k: v for k, v in vars(args).items() if k not in ("command", "resume", "verbose")}
    ember.manual_seed(args.seed)
    splits = load_splits(args.dataset, args.root, val_fraction=args.val_fraction,
                         seed=args.seed, samples=args.samples, noise=args.noise)
    model = build_model(args.model, splits.input_shape, splits.num_classes,
                        _model_options(args))
    ember.summary(model, splits.input_shape)
    optimizer = _optimizer(args, model.parameters())
    callbacks = [ModelCheckpoint(out, monitor="val_loss" if splits.val else "loss")]
    if args.patience is not None:
        callbacks.append(EarlyStopping(patience=args.patience, restore_best_weights=True))
    resume = os.path.join(out, "last.safetensors") if args.resume else None
    if resume and not os.path.exists(resume):
        print(f"ember train: nothing to resume in {out}; starting from scratch",
              file=sys.stderr)
        resume = None
    verbose = int(args.verbose) if args.verbose.isdigit() else args.verbose
    start = time.perf_counter()
    history = ember.fit(model, splits.train, "cross_entropy", optimizer, args.epochs,
                        val_data=splits.val, callbacks=callbacks, batch_size=args.batch_size,
                        verbose=verbose, resume_from=resume)
    elapsed = time.perf_counter() - start
    results = ember.evaluate(model, splits.test, "cross_entropy")
    ember.save(model.state_dict(), os.path.join(out, "model.safetensors"))
    history.save_json(os.path.join(out, "history.json"))
    config.update(test=results, seconds=round(elapsed, 2), epochs_run=len(history))
    with open(os.path.join(out, "config.json"), "w") as handle:
        json.dump(config, handle, indent=2)
    _plots(out, history, model, splits, args.dataset)
    print(f"test loss {results['loss']:.4f}  test accuracy {results['accuracy']:.2%}  "
          f"({len(history)} epochs in {elapsed:.1f}s; written to {out}/)")
    return 0


def _plots(out: str, history, model, splits, dataset: str) -> None:
    try:
        from ember import viz

        viz.plot_history(history, os.path.join(out, "history.png"), title=dataset)
        if splits.input_shape == (2,):
            x, y = splits.train.tensors
            viz.plot_decision_boundary(model, x, y, os.path.join(out, "decision_boundary.png"),
                                       title=f"{dataset}: decision boundary")
    except ImportError as exc:
        print(f"ember train: no plots ({exc})", file=sys.stderr)


def command_evaluate(args) -> int:
    import ember
    from ember.datasets.catalog import load_splits

    config_path = os.path.join(args.run, "config.json")
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"ember evaluate: {args.run} has no config.json; is it the "
                                "--out folder of `ember train`?")
    with open(config_path) as handle:
        config = json.load(handle)
    splits = load_splits(config["dataset"], config.get("root"),
                         val_fraction=config["val_fraction"], seed=config["seed"],
                         samples=config["samples"], noise=config.get("noise"))
    model = build_model(config["model"], splits.input_shape, splits.num_classes,
                        _model_options(argparse.Namespace(**config)))
    if args.weights == "final":
        model.load_state_dict(ember.load(os.path.join(args.run, "model.safetensors")))
    else:
        checkpoint = ember.load(os.path.join(args.run, f"{args.weights}.safetensors"))
        model.load_state_dict(checkpoint["model"])
    for split in ("val", "test"):
        data = getattr(splits, split)
        if data is not None:
            results = ember.evaluate(model, data, "cross_entropy")
            print(f"{split}: loss {results['loss']:.4f}  accuracy {results['accuracy']:.2%}  "
                  f"({len(data)} examples)")
    return 0


def command_summary(args) -> int:
    import ember

    if args.input_size:
        shape, classes = tuple(args.input_size), args.num_classes
    elif args.dataset:
        from ember.datasets.catalog import load_splits

        splits = load_splits(args.dataset, args.root, val_fraction=0.0, samples=10)
        shape, classes = splits.input_shape, splits.num_classes
    else:
        raise SystemExit("ember summary: give --input-size or --dataset")
    model = build_model(args.model, shape, classes, _model_options(args))
    print(model)
    ember.summary(model, shape)
    return 0


COMMANDS = {"train": command_train, "evaluate": command_evaluate, "summary": command_summary}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (FileNotFoundError, ValueError, AttributeError) as exc:
        print(f"ember {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

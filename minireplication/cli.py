"""`minireplication replicate | settle | ship | revalidate | leaderboard`: the replication's commands; user
mistakes end as one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from hybridbench.errors import HybridbenchError
from hybridcodec.cli import add_anneal_args, anneal_option
from hybridcodec.errors import HybridcodecError
from minireplication import leaderboard
from minireplication.errors import ReplicationError
from minireplication.replicate import Recipe
from minireplication.settle import ARMS
from minireplication.settle import Experiment as settle_defaults
from minireplication.ship import PACKAGED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minireplication",
        description="Train the four mini variants of the HybridCodec replication, ship them, and write its pages.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser(
        "replicate",
        help="train hybrid, dac, dac-distill and dualcodec in lockstep on the offline corpus (resumable)",
    )
    r.add_argument("--out", type=Path, default=Path("runs/mini-replication"), help="folder of the four runs")
    r.add_argument(
        "--steps", type=int, required=True, help="total updates per variant (more extends the runs)"
    )
    r.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    r.add_argument("--jobs", type=int, default=2, help="variants trained at the same time (default: 2)")
    r.add_argument("--threads", type=int, help="torch threads per training process (default: cores / jobs)")
    r.add_argument("--corpus", type=Path, help="where the training corpus is built (default: the cache)")
    r.add_argument("--data", type=Path, help="train on this manifest or folder instead of the offline corpus")
    r.add_argument(
        "--valid",
        type=Path,
        help="held-out audio scored at every checkpoint (default: the corpus's validation split)",
    )
    r.add_argument("--no-eval", action="store_true", help="skip the learning-curve evaluations")
    r.add_argument(
        "--init-from", type=Path, metavar="DIR",
        help="warm-start variants not yet in --out from shipped checkpoints (e.g. minireplication/checkpoints/mini)",
    )  # fmt: skip
    add_anneal_args(r)
    defaults = Recipe()
    for field in dataclasses.fields(Recipe):
        r.add_argument(
            "--" + field.name.replace("_", "-"), type=type(getattr(defaults, field.name)),
            default=getattr(defaults, field.name), help="recipe (default: %(default)s)",
        )  # fmt: skip

    st = sub.add_parser(
        "settle",
        help="the distillation experiment: arms warm-started from the shipped dac mini, read on held-out speech",
    )
    st.add_argument("--out", type=Path, default=Path("runs/settle"), help="folder of the arms (resumable)")
    st.add_argument("--steps", type=int, default=3000, help="updates per arm from the shipped step")
    st.add_argument("--anneal-steps", type=int, default=1000, help="final updates annealing the rate to 0")
    st.add_argument("--jobs", type=int, default=2, help="arms trained at the same time")
    st.add_argument("--threads", type=int, help="torch threads per training process (default: cores / jobs)")
    st.add_argument("--device", default="cpu")
    st.add_argument(
        "--init-from", type=Path, default=settle_defaults.init_from, metavar="DIR",
        help="folder holding the dac mini every arm starts from (default: %(default)s)",
    )  # fmt: skip
    st.add_argument("--corpus", type=Path, help="the replication corpus (default: built in the cache)")
    st.add_argument("--no-eval", action="store_true", help="train the arms only")
    st.add_argument(
        "--arms", default=",".join(ARMS), help="arms to train and read (default: all, %(default)s)"
    )
    st.add_argument(
        "--add", action="store_true",
        help="add --arms to the published page (--page and its .json) instead of reading every arm: the published "
        "arms' readings come from its data, the loss form is chosen again",
    )  # fmt: skip
    st.add_argument("--page", type=Path, default=Path("leaderboards/distillation-experiment.md"))
    st.add_argument("--reports", type=Path, default=Path("reports/distillation-experiment"))

    s = sub.add_parser("ship", help="copy the replication's four checkpoints into the package as fp16")
    s.add_argument("--from", dest="run", type=Path, default=Path("runs/mini-replication"))
    s.add_argument("--step", type=int, help="default: the latest step all four variants reached")
    s.add_argument(
        "--to", type=Path, default=PACKAGED,
        help="folder to write them to (default: %(default)s, the package's; an unfinished run ships elsewhere, "
        "e.g. minireplication/checkpoints/replication-v2, to warm-start from with --init-from)",
    )  # fmt: skip

    rv = sub.add_parser(
        "revalidate",
        help="score shipped checkpoints on a run's held-out crops, for steps whose held-out log stayed on the "
        "machine that trained them",
    )
    rv.add_argument(
        "folders", nargs="+", type=Path, metavar="DIR", help="folders written by `minireplication ship`"
    )
    rv.add_argument(
        "--out", type=Path, required=True,
        help="the `replicate` folder whose learning curves get the points (its recipe must match the checkpoints')",
    )  # fmt: skip
    rv.add_argument("--corpus", type=Path, help="the replication corpus (default: built in the cache)")
    rv.add_argument("--valid", type=Path, help="held-out audio (default: the corpus's validation split)")
    rv.add_argument("--device", default="cpu")
    rv.add_argument("--threads", type=int, help="torch threads (default: torch's)")

    leaderboard.add_parser(sub)
    return parser


def _replicate(args: argparse.Namespace) -> None:
    from minireplication import replicate

    recipe = Recipe(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Recipe)})
    plan = replicate.Plan(
        out=args.out, steps=args.steps, recipe=recipe, device=args.device, jobs=args.jobs,
        threads=args.threads, corpus=args.corpus, data=args.data, valid=args.valid, init_from=args.init_from,
        anneal=anneal_option(args), rewarm=args.rewarm,
    )  # fmt: skip
    replicate.run(plan, evaluate=not args.no_eval)


def _settle(args: argparse.Namespace) -> None:
    from minireplication import corpus as corpus_mod
    from minireplication import settle

    corpus = corpus_mod.build(args.corpus)
    exp = settle.Experiment(
        out=args.out, data=corpus.manifest, valid=corpus.valid_manifest, steps=args.steps,
        anneal_steps=args.anneal_steps, jobs=args.jobs, device=args.device, init_from=args.init_from,
    )  # fmt: skip
    arms = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    unknown = [a for a in arms if a not in ARMS]
    # A page is read against the control: read now, or published already (--add); training alone needs none.
    if unknown or ("no-distillation" not in arms and not (args.no_eval or args.add)):
        raise ReplicationError(
            f"--arms {args.arms}: " + (f"unknown {unknown}" if unknown else "the control is missing"),
            f"choose from {', '.join(ARMS)}, always with no-distillation (unless --add or --no-eval)",
        )
    published = settle.load_published(args.page) if args.add and not args.no_eval else None
    if published is not None:  # before hours of training
        settle.check_addable(published, arms, settle.arm_model(exp, settle.START))
    settle.train_arms(exp, arms, threads=args.threads)
    if args.no_eval:
        return
    command = settle.command_line(exp, arms, add=args.add, threads=args.threads)
    if published is not None:
        results = settle.add_arms(exp, arms, published, command=command)
    else:
        results = settle.evaluate(exp, (settle.START, *arms), command=command)
    # The published figure stays when arms are added: the other arms' validation logs may be gone.
    page = settle.write_page(
        results, page=args.page, reports=args.reports, runs=exp.out, replot=published is None
    )
    print(page)


def _ship(args: argparse.Namespace) -> None:
    from minireplication.ship import ship

    for path in ship(args.run, args.to, step=args.step):
        print(path)


def _revalidate(args: argparse.Namespace) -> None:
    import torch

    from minireplication import corpus as corpus_mod
    from minireplication.curves import plot_curves
    from minireplication.replicate import SHIPPED_VALID_LOG
    from minireplication.revalidate import revalidate

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    corpus = corpus_mod.build(args.corpus)
    done = revalidate(
        args.folders,
        args.out,
        data=corpus.manifest,
        valid=args.valid or corpus.valid_manifest,
        device=args.device,
    )
    for variant, steps in done.items():
        print(
            f"{variant}: steps {', '.join(map(str, sorted(steps)))} -> {args.out / variant / SHIPPED_VALID_LOG}"
        )
    plot_curves(args.out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {
            "replicate": _replicate,
            "settle": _settle,
            "ship": _ship,
            "revalidate": _revalidate,
            "leaderboard": leaderboard.leaderboard,
        }
        commands[args.command](args)
    except (HybridcodecError, HybridbenchError) as exc:
        print(f"minireplication: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minireplication: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

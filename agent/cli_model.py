"""CLI commands of the intuition: `model train|eval|predict|list` and `bench seq2seq`.

Registered on the app of `eudoxus.agent.cli`, which imports this module once it is built.
torch and transformers load inside the commands, never at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from eudoxus.agent.cli import BadInput, HomeOption, JsonOption, _home, _reader, app, bench_app
from eudoxus.agent.output import emit_json, emit_table, note, percent, stdout, write_json

model_app = typer.Typer(help="The seq2seq intuition: train, evaluate, guess integrals.",
                        no_args_is_help=True)
app.add_typer(model_app, name="model")

# The paper's language models on its 10K + 10K test set (science.md), for the side-by-side table.
PAPER_MODELS = (
    {"model": "GPT-Neo 350M (paper, A6000)", "params": 350_000_000,
     "polynomial": (73.3, 95.7), "non-polynomial": (87.1, 94.8), "ms_per_function": 722.0},
    {"model": "Flan-T5 783M (paper, A6000)", "params": 783_000_000,
     "polynomial": (67.7, 85.7), "non-polynomial": (64.6, 75.7), "ms_per_function": 151.0},
)

Seconds = Annotated[float, typer.Option(help="Training budget in wall-clock seconds.")]
Pairs = Annotated[int, typer.Option(help="Training pairs made from the lab's knowledge.")]
TestPerSplit = Annotated[int, typer.Option(
    help="Held-out test functions per split (polynomial, non-polynomial).")]
Device = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")]
Threads = Annotated[int, typer.Option(help="torch threads on the CPU (0: every core).")]
Arch = Annotated[str, typer.Option(help="Encoder-decoder kind: bart, mbart or t5.")]
DModel = Annotated[int, typer.Option("--d-model", help="Model width.")]
Layers = Annotated[int, typer.Option(help="Encoder and decoder layers (each).")]
BatchSize = Annotated[int, typer.Option(help="Training batch size.")]
LearningRate = Annotated[float, typer.Option("--lr", help="Peak learning rate.")]
Precision = Annotated[str, typer.Option(help="auto (bf16 on CUDA, fp32 on the CPU), bf16 or fp32.")]
Seed = Annotated[int, typer.Option(help="Seed of the data and the initial weights.")]
Beams = Annotated[int, typer.Option(min=1, help="Beam width (1: greedy).")]
JsonPath = Annotated[Path | None, typer.Option("--json", help="Also write the results here.")]
Target = Annotated[str, typer.Option(
    help="Training targets: decimal (the paper's format) or symbolic (coefficients spelled as "
         "their laws, e.g. 2.07/0.27, worked out exactly before scoring).")]


def _settings(seconds: float, pairs: int, test_per_split: int, device: str, threads: int,
              arch: str, d_model: int, layers: int, batch_size: int, lr: float, seed: int,
              precision: str, target: str = "decimal"):
    from eudoxus.models.network import ARCHITECTURES, ModelConfig
    from eudoxus.models.train import PRECISIONS, TrainConfig
    from eudoxus.tools.pairs import TARGET_FORMATS
    from eudoxus.tools.seq2seq import DataSpec

    if arch not in ARCHITECTURES:
        raise BadInput(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    if target not in TARGET_FORMATS:
        raise BadInput(f"unknown target format {target!r}; choose {', '.join(TARGET_FORMATS)}")
    if precision not in PRECISIONS:
        raise BadInput(f"unknown precision {precision!r}; choose {', '.join(PRECISIONS)}")
    if seconds <= 0 or pairs < 1 or test_per_split < 1 or layers < 1 or d_model < 8:
        raise BadInput("seconds, pairs, test-per-split, layers and d-model must be positive")
    heads = max(1, d_model // 32)
    model = ModelConfig(arch=arch, d_model=d_model, d_ff=4 * d_model, heads=heads,
                        encoder_layers=layers, decoder_layers=layers)
    train = TrainConfig(seconds=seconds, batch_size=batch_size, lr=lr, seed=seed, device=device,
                        threads=threads or os.cpu_count() or 1, precision=precision)
    data = DataSpec(train=pairs, test_per_split=test_per_split, seed=seed, target=target)
    return model, train, data


NO_RULES = "the lab has no accepted rules to learn from; run a campaign first (eudoxus run)"


def _rules(store) -> list:
    from eudoxus.agent.intuition import knowledge

    rules, _ = knowledge(store)
    if not rules:
        raise BadInput(NO_RULES)
    return rules


def _train(home: Path | None, run_id: str | None, model_config, train_config, data_spec,
           *, campaign_if_empty: bool = False, resume: Path | None = None) -> dict[str, Any]:
    """Build the data from the lab, train, score on the held-out set, record the training."""
    from eudoxus.agent import intuition
    from eudoxus.memory import Store, StoreError
    from eudoxus.memory.lab import Lab
    from eudoxus.models.network import pick_device
    from eudoxus.tools import seq2seq

    lab = Lab.resolve(home)
    try:
        pick_device(train_config.device)
    except ValueError as error:
        raise BadInput(str(error)) from error
    with Store.open_read_only(lab, notify=note) as store:
        rules, fits = intuition.knowledge(store, run_id)
    if not rules and campaign_if_empty:
        note(f"no accepted rules in {lab.home}: running the paper campaign first "
             "(its rules label the pairs)")
        _paper_campaign(lab)
        with Store.open_read_only(lab, notify=note) as store:
            rules, fits = intuition.knowledge(store, run_id)
    if not rules:
        raise BadInput(NO_RULES)
    note(f"data: {len(rules)} accepted rules and {len(fits)} accepted fits "
         f"({', '.join(sorted({r.family for r in rules}))})")
    dataset = seq2seq.build_dataset(rules, fits, data_spec, workers=os.cpu_count() or 1)
    note(f"{len(dataset.train):,} training, {len(dataset.valid):,} validation and "
         f"{len(dataset.test):,} test pairs; training for {train_config.seconds:g} s")
    out = intuition.checkpoint_dir(lab, run_id)

    def point(p: dict[str, float]) -> None:
        note(f"  {p['seconds']:>6.0f} s  step {p['steps']:>7,}  loss {p['loss']:.3f}  "
             f"validation exact {p['valid_exact']:.1%}")

    retraining = seq2seq.retrain(dataset, model_config=model_config, train_config=train_config,
                                 out=out, resume=resume, on_point=point)
    recorded = None
    try:
        with Store.open(lab) as store:
            recorded = intuition.record(store, retraining, run_id).model_run_id
    except StoreError as error:  # a campaign holding the store must not
        # cost the training: the checkpoint is on disk and says where
        note(f"note: the training was not recorded in the store ({error}); "
             f"its checkpoint is {out}")
    return {"model_run_id": recorded, "checkpoint": str(out), "device": retraining.device,
            "n_params": retraining.n_params, "train_seconds": retraining.seconds,
            "steps": retraining.steps, "examples": retraining.examples,
            "config": retraining.config, **retraining.evaluation.to_dict(),
            "history": retraining.history}


def _paper_campaign(lab) -> None:
    from eudoxus.agent.campaign import Campaign
    from eudoxus.agent.config import load_config
    from eudoxus.memory import Store

    with Store.open(lab) as store:
        outcome = Campaign(store, lab, load_config("paper")).run()
    note(f"campaign {outcome.run_id}: {outcome.status}, "
         f"{outcome.counters['rules_accepted']} rules")


def print_scores(title: str, document: dict[str, Any], *, with_paper: bool = False) -> None:
    """The paper's table: %-correct and %-approx-correct per split, size and speed."""
    metrics = document["metrics"]
    poly, other = metrics.get("polynomial", {}), metrics.get("non-polynomial", {})
    spec = ((document.get("config") or {}).get("data") or {}).get("spec") or {}
    targets = ", symbolic targets" if spec.get("target") == "symbolic" else ""
    rows = [(f"ours ({document['device']}{targets})", f"{document['n_params'] / 1e6:.2f}M",
             percent(poly.get("correct")), percent(poly.get("approx_correct")),
             percent(other.get("correct")), percent(other.get("approx_correct")),
             f"{document['ms_per_function_batched']:.1f}",
             f"{document['ms_per_function_single']:.1f}")]
    if with_paper:
        rows += [(m["model"], f"{m['params'] / 1e6:.0f}M", *map(percent, m["polynomial"]),
                  *map(percent, m["non-polynomial"]), "—", f"{m['ms_per_function']:.0f}")
                 for m in PAPER_MODELS]
    emit_table(title, ["model", "params", "poly % correct", "poly % approx", "other % correct",
                       "other % approx", "ms/fn batched", "ms/fn single"], rows)
    families = sorted(k for k in metrics if k.startswith("family:"))
    if families:
        emit_table("Per family", ["family", "n", "% correct", "% approx"],
                   [(k.split(":", 1)[1], metrics[k]["n"], percent(metrics[k]["correct"]),
                     percent(metrics[k]["approx_correct"])) for k in families])


@model_app.command("train")
def model_train(
    ctx: typer.Context,
    home: HomeOption = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Learn from one run only.")] = None,
    seconds: Seconds = 600.0, pairs: Pairs = 100_000, test_per_split: TestPerSplit = 2_000,
    device: Device = "auto", threads: Threads = 0, arch: Arch = "bart", d_model: DModel = 128,
    layers: Layers = 3, batch_size: BatchSize = 32, lr: LearningRate = 7e-4, seed: Seed = 0,
    precision: Precision = "auto", target: Target = "decimal",
    resume: Annotated[Path | None, typer.Option(
        help="Continue from this checkpoint; its training time counts toward --seconds.")] = None,
    json_path: JsonPath = None, as_json: JsonOption = False,
) -> None:
    """Train the intuition on the lab's accepted rules and fits; score it on held-out pairs."""
    settings = _settings(seconds, pairs, test_per_split, device, threads, arch, d_model,
                         layers, batch_size, lr, seed, precision, target)
    document = _train(_home(ctx, home), run_id, *settings, resume=resume)
    if as_json:
        emit_json(document)
    else:
        print_scores("Intuition: held-out test set", document)
        note(f"checkpoint {document['checkpoint']}")
    write_json(json_path, document)


@bench_app.command("seq2seq")
def bench_seq2seq(
    home: Annotated[Path | None, typer.Option(
        "--home", help="Lab whose rules label the data (default: ./.eudoxus; a paper campaign "
                       "is run first if it has none).")] = None,
    seconds: Seconds = 1800.0, pairs: Pairs = 600_000, test_per_split: TestPerSplit = 2_000,
    device: Device = "auto", threads: Threads = 0, arch: Arch = "bart", d_model: DModel = 128,
    layers: Layers = 3, batch_size: BatchSize = 32, lr: LearningRate = 7e-4, seed: Seed = 0,
    precision: Precision = "auto", target: Target = "decimal", json_path: JsonPath = None,
) -> None:
    """Train from scratch on the lab's own knowledge; compare with the paper's language models."""
    settings = _settings(seconds, pairs, test_per_split, device, threads, arch, d_model,
                         layers, batch_size, lr, seed, precision, target)
    document = _train(home, None, *settings, campaign_if_empty=True)
    document["paper"] = PAPER_MODELS
    print_scores("Seq2seq benchmark: held-out test set (labels from the lab's own rules)",
                 document, with_paper=True)
    note(f"training: {document['train_seconds']:.0f} s on {document['device']}, "
         f"{document['steps']:,} steps, {document['examples']:,} examples; "
         f"labels: {document['config']['data']['label_source']}")
    if target == "symbolic":
        note("targets: coefficients spelled as their laws (2.07/0.27); each output is worked "
             "out exactly and rounded to 2 decimals before it is scored against the paper-"
             "format truth (the paper's models wrote the decimals themselves)")
    write_json(json_path, document)


def _checkpoint(ctx: typer.Context, home: Path | None, given: Path | None) -> Path:
    from eudoxus.agent.intuition import latest_checkpoint

    if given is not None:
        return given
    with _reader(ctx, home) as store:
        found = latest_checkpoint(store)
    if found is None:
        raise BadInput("no trained model in this lab; train one first (eudoxus model train)")
    return found[1]


def _load(path: Path):
    from eudoxus.agent.intuition import load_model
    from eudoxus.models.checkpoint import CheckpointError

    try:
        return load_model(path)
    except CheckpointError as error:
        raise BadInput(str(error)) from error


CheckpointOption = Annotated[Path | None, typer.Option(
    "--checkpoint", help="Checkpoint folder (default: the lab's newest training).")]


@model_app.command("eval")
def model_eval(
    ctx: typer.Context, home: HomeOption = None, checkpoint: CheckpointOption = None,
    test_per_split: TestPerSplit = 2_000, beams: Beams = 1,
    seed: Annotated[int | None, typer.Option(
        help="Seed of a fresh test set (default: the model's own held-out test set).")] = None,
    json_path: JsonPath = None, as_json: JsonOption = False,
) -> None:
    """Score a trained model on test functions labelled by the lab's accepted rules."""
    from eudoxus.models.network import count_parameters
    from eudoxus.tools import seq2seq

    path = _checkpoint(ctx, home, checkpoint)
    loaded = _load(path)
    with _reader(ctx, home) as store:
        rules = _rules(store)
        trained = next((r for r in store.list_model_runs()
                        if r.checkpoint_path and Path(r.checkpoint_path) == path), None)
    spec = ((trained.config.get("data") or {}).get("spec") or None) if trained else None
    if seed is None and spec:
        # The training drew its test set first, from its own seed: the same seed and rules
        # draw the same functions, none of which it trained on.
        seed, test_per_split, title = spec["seed"], spec["test_per_split"], "its held-out test set"
    else:
        if seed is None:
            seed = 1
            note("note: this model's training is not recorded here; a fresh test set may "
                 "share integrands with what it trained on")
        title = f"a fresh test set (seed {seed})"
    dataset = seq2seq.build_dataset(rules, (), seq2seq.DataSpec(
        train=0, valid=0, test_per_split=test_per_split, seed=seed))
    evaluation = seq2seq.evaluate(loaded.model, loaded.tokenizer, dataset.test, beams=beams,
                                  target=(spec or {}).get("target", "decimal"))
    document = {"checkpoint": str(path), "device": "cpu", "test_seed": seed,
                "n_params": count_parameters(loaded.model), **evaluation.to_dict()}
    if as_json:
        emit_json(document)
    else:
        print_scores(f"Intuition {path.name}: {title}", document)
    write_json(json_path, document)


@model_app.command("predict")
def model_predict(
    ctx: typer.Context,
    expressions: Annotated[list[str], typer.Argument(help="Functions of x, e.g. '3*sin(2*x)+1'.")],
    home: HomeOption = None, checkpoint: CheckpointOption = None, beams: Beams = 1,
    check: Annotated[bool, typer.Option(
        "--check/--no-check", help="Measure the area and test each guess against it.")] = True,
    as_json: JsonOption = False,
) -> None:
    """The model's guess of ∫₀ˣ f for each function; a guess stands only if the area agrees."""
    from eudoxus.tools import seq2seq
    from eudoxus.tools.expr import ExprError, parse
    from eudoxus.tools.pairs import paper_form

    sources = []
    for text in expressions:
        try:
            form = paper_form(parse(text))
        except ExprError as error:
            raise BadInput(f"{text!r}: {error}") from error
        if form is None:
            raise BadInput(f"{text!r}: only x may be free in a function to integrate")
        sources.append(form)
    loaded = _load(_checkpoint(ctx, home, checkpoint))
    guesses = seq2seq.guess(loaded.model, loaded.tokenizer, sources, beams=beams)
    rows = []
    for source, guessed in zip(sources, guesses, strict=True):
        row = {"f": source, "guess": guessed or None}
        if check:
            verdict = seq2seq.check_guess(source, guessed) if guessed else None
            row.update({"verdict": ("accepted" if verdict and verdict.accepted else "refuted"),
                        "eq1_error": verdict.error if verdict else None,
                        "reason": verdict.reason if verdict else "the model gave no guess"})
        rows.append(row)
    if as_json:
        emit_json(rows)
        return
    columns = ["f", "guess of ∫₀ˣ f"] + (["measured verdict", "eq. 1 error"] if check else [])
    emit_table("Intuition (model guesses; the measured area decides)", columns,
               [(r["f"], r["guess"] or "—", *((r["verdict"], "—" if r["eq1_error"] is None
                                               else f"{r['eq1_error']:.2g}") if check else ()))
                for r in rows])


@model_app.command("list")
def model_list(ctx: typer.Context, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Every training recorded in the lab: when, how big, how accurate (the accuracy history)."""
    with _reader(ctx, home) as store:
        runs = store.list_model_runs()
    if as_json:
        emit_json(runs)
        return
    rows = []
    for r in runs:
        metrics = r.metrics.get("metrics", {})
        poly, other = metrics.get("polynomial", {}), metrics.get("non-polynomial", {})
        rows.append((r.model_run_id, r.run_id or "—", r.started_at, f"{r.seconds:.0f}", r.device,
                     f"{r.n_params / 1e6:.2f}M", r.n_train, percent(poly.get("correct")),
                     percent(poly.get("approx_correct")), percent(other.get("correct")),
                     percent(other.get("approx_correct"))))
    emit_table("Model trainings", ["id", "run", "started", "s", "device", "params", "train",
                                   "poly %", "poly ≈%", "other %", "other ≈%"], rows)
    if not runs:
        stdout.print("no trainings yet", highlight=False)

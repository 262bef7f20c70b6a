"""A chapter's Settings (its quick and full values), and the settings, arguments and
environment checked before a run starts: `bigtext run` and `run_chapter`. Every chapter's
run() is replaced by a mock, so nothing loads or trains; a refused run is one that never
called it."""

from __future__ import annotations

import dataclasses
import importlib
import json
from unittest import mock

import pytest

from bigtext_lite import config, experiments
from bigtext_lite.book import cli
from bigtext_lite.experiments import spec
from bigtext_lite.experiments.settings import Settings, profiled


def chapter_settings(chapter: str) -> type[Settings]:
    return importlib.import_module(experiments.CHAPTERS[chapter]).Settings


@pytest.fixture
def chapter_runs(monkeypatch):
    """chapter -> the mock standing in for its run()."""
    mocks = {}
    for chapter, name in experiments.CHAPTERS.items():
        mocks[chapter] = mock.Mock(return_value={"rows": []})
        monkeypatch.setattr(importlib.import_module(name), "run", mocks[chapter])
    monkeypatch.setenv("BIGTEXT_PROFILE", "quick")  # run_chapter sets it; restored after
    return mocks


def file_in(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


REFUSED = [  # (arguments after `bigtext run`, environment, what the one line says)
    ("lstm --set num_epochs=0", {}, "--set num_epochs=0: must be an integer >= 1"),
    ("lstm --set batch_size=0", {}, "--set batch_size=0: must be an integer >= 1"),
    ("lstm --set batch_size=-8", {}, "--set batch_size=-8: must be an integer >= 1"),
    ("training_loop --set max_train=abc", {}, "--set max_train=abc: must be an integer >= 1, or"),
    ("training_loop --set seed=abc", {}, "--set seed=abc: must be an integer in [0, 2**32)"),
    ("formulas --set seed=-1", {}, "--set seed=-1: must be an integer in [0, 2**32)"),
    ("lstm --set num_epochs=2.5", {}, "--set num_epochs=2.5: must be an integer >= 1"),
    ("lstm --set num_epochs=3.0", {}, "--set num_epochs=3.0: must be an integer >= 1"),
    ("lstm --set num_epochs=true", {}, "--set num_epochs=true: must be an integer >= 1"),
    ("lstm --set num_epochs=[3]", {}, "--set num_epochs=[3]: must be an integer >= 1"),
    ('lstm --set lr={"a":1}', {}, '--set lr={"a":1}: must be a number > 0'),
    ("lstm --set lr=0", {}, "--set lr=0: must be a number > 0"),
    ("lstm --set lr=NaN", {}, "--set lr=NaN: must be a number > 0"),
    ("lstm --set patience=0", {}, "--set patience=0: must be an integer >= 1, or null"),
    ("word_vectors --set curve=no", {}, "--set curve=no: must be true or false"),
    ("word_vectors --set curve=0", {}, "--set curve=0: must be true or false"),
    ("word_vectors --set curve=null", {}, "--set curve=null: must be true or false"),
    ("word_vectors --set sizes=[]", {}, "--set sizes=[]: must be a non-empty list of integers"),
    ("word_vectors --set sizes=250", {}, "--set sizes=250: must be a non-empty list of integers"),
    ("word_vectors --set sizes=[250,0]", {}, "--set sizes=[250,0]: must be a non-empty list"),
    ("baselines --set valid_fraction=1", {}, "--set valid_fraction=1: must be a number in (0, 1)"),
    ("baselines --set valid_fraction=0", {}, "--set valid_fraction=0: must be a number in (0, 1)"),
    ('bert --set truncations=["middle"]', {}, "must be a non-empty list of strings among head"),
    ("bert --set warmup=1.5", {}, "--set warmup=1.5: must be a number in [0, 1]"),
    ("bert --set checkpoint=/no/such/folder", {}, "--set checkpoint=/no/such/folder: must be"),
    ('fasttext --set polarity=[["x",{"dim":3}]]', {}, "must be a non-empty list of pairs"),
    ('fasttext --set polarity=[["x",{"epoch":5,"typo":1}]]', {}, "must be a non-empty list of"),
    ('fasttext --set large_batches=[["x",{"epoch":5,"lr":0.5}]]', {},
     "epoch, lr and batch_size among them"),
    ('fasttext --set large_batches=[["x",{"epoch":5,"lr":0.5,"batch_size":256,'
     '"device":"cpu"}]]', {}, "no device"),
    ("lstm --set epoch=3", {}, "--set epoch=3: unknown setting for lstm; did you mean num_epochs?"),
    ("lstm --set epochs=3", {}, "unknown setting for lstm; did you mean num_epochs?"),
    ("lstm --set num_epochs", {}, "--set num_epochs: takes KEY=VALUE"),
    ("lstm --set num_epochs=3 --set num_epochs=4", {},
     "--set num_epochs=4: num_epochs is set twice"),
    ("lsmt", {}, "unknown chapter 'lsmt'; choose one of baselines, bert,"),
    ("lstm --profile fast", {}, "profile='fast' is not a profile; use one of quick, colab, full"),
    ("lstm --tag a/b", {}, "tag 'a/b': use letters, digits and . _ + -"),
    ("lstm", {"BIGTEXT_PROFILE": "fast"}, "BIGTEXT_PROFILE='fast' is not a profile"),
    ("lstm", {"BIGTEXT_DATA": "<file>"}, "BIGTEXT_DATA='<file>' is a file, not a folder"),
    ("lstm", {"BIGTEXT_CACHE": "<file>/c"}, "BIGTEXT_CACHE='<file>/c' is inside <file>, a file"),
    ("lstm", {"BIGTEXT_DEVICE": "gpu"}, "BIGTEXT_DEVICE='gpu' is not a device"),
    ("bert", {"BIGTEXT_BERT": "/no/such/folder"}, "BIGTEXT_BERT='/no/such/folder': must be"),
]


@pytest.mark.parametrize("argv,env,says", REFUSED,
                         ids=[argv + (f" {env}" if env else "") for argv, env, _ in REFUSED])
def test_run_refuses_in_one_line_before_any_work(argv, env, says, chapter_runs, tmp_path,
                                                 monkeypatch, capsys):
    where = str(file_in(tmp_path))
    for var, value in env.items():
        monkeypatch.setenv(var, value.replace("<file>", where))
    chapter = argv.split()[0]
    assert cli.main(["run", *argv.split(), "--out", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bigtext run {chapter}: ") and err.count("\n") == 1, err
    assert says.replace("<file>", where) in err
    assert not any(run.called for run in chapter_runs.values())
    assert not (tmp_path / "results").exists()


def test_run_refuses_a_results_folder_that_is_a_file(chapter_runs, tmp_path, capsys):
    out = file_in(tmp_path)
    assert cli.main(["run", "lstm", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"bigtext run lstm: results folder '{out}' is a file, not a folder\n"
    assert not chapter_runs["lstm"].called


ACCEPTED = [  # (chapter, --set items, the settings run() gets: values and types)
    ("word_vectors", ["curve=False", "compare=TRUE"], {"curve": False, "compare": True}),
    ("word_vectors", ["curve=false", "compare=True"], {"curve": False, "compare": True}),
    ("word_vectors", ["bert=None", "sizes=[10, 20]"], {"bert": None, "sizes": [10, 20]}),
    ("lstm", ["lr=1", "patience=None", "max_train=null", "num_epochs=3"],
     {"lr": 1.0, "patience": None, "max_train": None, "num_epochs": 3}),
    ("baselines", ["nb_cs=[1, 2]", "seed=3"], {"nb_cs": (1.0, 2.0), "seed": 3}),
    ("bert", ['truncations=["head", "tail"]', "checkpoint=bert-base-uncased", "warmup=0"],
     {"truncations": ("head", "tail"), "checkpoint": "bert-base-uncased", "warmup": 0.0}),
    ("fasttext", ['polarity=[["u", {"epoch": 5, "wordNgrams": 1}]]'],
     {"polarity": [("u", {"epoch": 5, "wordNgrams": 1})]}),
]


@pytest.mark.parametrize("chapter,items,overrides", ACCEPTED)
def test_run_reads_each_value_as_its_setting_type(chapter, items, overrides, chapter_runs,
                                                  tmp_path):
    argv = ["run", chapter, "--out", str(tmp_path)] + [a for item in items for a in ("--set", item)]
    assert cli.main(argv) == 0
    settings = chapter_runs[chapter].call_args.args[0]
    assert isinstance(settings, chapter_settings(chapter))
    got = {name: getattr(settings, name) for name in overrides}
    assert got == overrides
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in overrides.items()}
    assert {k: repr(v) for k, v in got.items()} == {k: repr(v) for k, v in overrides.items()}
    written = json.loads((tmp_path / f"{chapter}-quick.json").read_text())
    assert written["overrides"] == json.loads(json.dumps(overrides))


def test_run_profile_ignores_case_like_the_variable(chapter_runs, tmp_path):
    assert cli.main(["run", "formulas", "--profile", "FULL", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "formulas-full.json").exists()


@pytest.mark.parametrize("chapter,overrides,says", [
    ("lstm", {"num_epochs": 0}, "num_epochs=0: must be an integer >= 1"),
    ("lstm", {"num_epochs": 3.0}, "num_epochs=3.0: must be an integer >= 1"),
    ("lstm", {"num_epochs": "3"}, "num_epochs='3': must be an integer >= 1"),
    ("word_vectors", {"curve": "False"}, "curve='False': must be true or false"),
    ("word_vectors", {"curve": 0}, "curve=0: must be true or false"),
    ("lstm", {"batch_size": -1}, "batch_size=-1: must be an integer >= 1"),
    ("lstm", {"lr": [0.1]}, "lr=[0.1]: must be a number > 0"),
    ("lstm", {"max_train": True}, "max_train=True: must be an integer >= 1, or null"),
    ("lstm", {"epoch": 3}, "'epoch': unknown setting for lstm; did you mean num_epochs?"),
    ("lstm", [("num_epochs", 3)], "overrides must be a dict of settings, got list"),
])
def test_run_chapter_refuses_with_a_clear_value_error(chapter, overrides, says, chapter_runs,
                                                      tmp_path):
    with pytest.raises(ValueError) as err:
        experiments.run_chapter(chapter, "quick", tmp_path, overrides)
    assert str(err.value).startswith(says) and "\n" not in str(err.value)
    assert not chapter_runs[chapter].called


def test_run_chapter_checks_profile_and_chapter_first(chapter_runs, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"^profile='fast' is not a profile"):
        experiments.run_chapter("lstm", "fast", tmp_path)
    assert config.profile() == "quick"  # a refused profile is not left in BIGTEXT_PROFILE
    with pytest.raises(ValueError, match=r"^unknown chapter 'lsmt'"):
        experiments.run_chapter("lsmt", "quick", tmp_path)
    monkeypatch.setenv("BIGTEXT_DATA", str(file_in(tmp_path)))
    with pytest.raises(ValueError, match=r"^BIGTEXT_DATA=.* is a file, not a folder$"):
        experiments.run_chapter("lstm", "quick", tmp_path)
    assert not any(run.called for run in chapter_runs.values())


def test_run_chapter_passes_checked_overrides(chapter_runs, tmp_path):
    experiments.run_chapter("lstm", "quick", tmp_path, {"lr": 1, "patience": None}, tag="t")
    settings = chapter_runs["lstm"].call_args.args[0]
    got = {"lr": settings.lr, "patience": settings.patience}
    assert got == {"lr": 1.0, "patience": None} and type(got["lr"]) is float
    written = json.loads((tmp_path / "lstm-quick-t.json").read_text())
    assert written["settings"] == json.loads(json.dumps(dataclasses.asdict(settings)))


def test_bert_checkpoint_folder_must_hold_config_json(chapter_runs, tmp_path, monkeypatch):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    monkeypatch.setenv("BIGTEXT_BERT", str(folder))
    with pytest.raises(ValueError, match=r"^BIGTEXT_BERT=.*: must be a non-empty string naming"):
        experiments.run_chapter("bert", "quick", tmp_path)
    (folder / "config.json").write_text("{}")
    experiments.run_chapter("bert", "quick", tmp_path)
    assert chapter_runs["bert"].call_count == 1


@pytest.mark.parametrize("profile", config.PROFILES)
@pytest.mark.parametrize("chapter", sorted(experiments.CHAPTERS))
def test_every_default_has_a_type_and_passes_its_check(chapter, profile):
    # Fails when a chapter adds a setting that is None in every profile (no type to check
    # it by) or a default that its rule refuses.
    defaults = chapter_settings(chapter).for_profile(profile)
    specs = defaults.specs()
    assert set(specs) == set(defaults.values())
    assert defaults.checked(defaults.values()) == {
        name: specs[name].check(value) for name, value in defaults.values().items()}
    assert defaults.chapter() == chapter  # what bigtext run and its messages call it


def test_spec_types_come_from_the_defaults_of_both_profiles():
    assert spec.spec_of("patience", [None, 2]) == spec.Spec(int, None, True, spec.RULES["patience"])
    assert spec.spec_of("lr", [1, 0.5]).kind is float
    assert spec.spec_of("sizes", [[250, 1000], [250]]).container is list
    assert spec.spec_of("x", ["a", "b"]).words() == "a non-empty string"
    with pytest.raises(TypeError, match="no one type"):
        spec.spec_of("x", [None, None])


@dataclasses.dataclass(frozen=True)
class Toy(Settings):
    size: int | None = profiled(10, full=None)  # None: all
    sizes: list = profiled([1, 2], full=[1, 2, 3])
    lr: float = 0.5


def test_for_profile_gives_the_quick_defaults_or_the_full_values(monkeypatch):
    assert Toy.for_profile("quick") == Toy() == Toy(10, [1, 2], 0.5)
    assert Toy.for_profile(" FULL ") == Toy(None, [1, 2, 3], 0.5)
    monkeypatch.setenv("BIGTEXT_PROFILE", "full")
    assert Toy.for_profile() == Toy.for_profile("full")
    with pytest.raises(ValueError, match=r"^profile='fast' is not a profile"):
        Toy.for_profile("fast")
    Toy.for_profile("full").sizes.append(4)  # each instance has its own list
    assert Toy.for_profile("full").sizes == [1, 2, 3] and Toy().sizes == [1, 2]


@dataclasses.dataclass(frozen=True)
class ToyColab(Settings):
    size: int | None = profiled(10, full=None)  # the colab profile: the full value
    configs: tuple = profiled(("a",), full=("a", "b", "c"), colab=("b",))


def test_the_colab_profile_reads_the_full_data_and_keeps_what_it_names():
    assert ToyColab.for_profile("colab") == ToyColab(None, ("b",))
    assert ToyColab.for_profile("full") == ToyColab(None, ("a", "b", "c"))
    assert ToyColab.for_profile("quick") == ToyColab(10, ("a",))
    assert ToyColab.specs()["configs"].container is tuple  # read from all three profiles


def test_the_colab_profile_of_the_lstm_chapter_trains_only_what_it_names(monkeypatch):
    from bigtext_lite.experiments import lstm

    colab = lstm.Settings.for_profile("colab")
    assert colab.max_train is None and colab.configs == ("random, max pooling",)
    assert set(colab.configs) < set(lstm.CONFIGS) == set(lstm.Settings.for_profile("full").configs)
    with pytest.raises(ValueError, match="configs=.*among the LSTM chapter's configurations"):
        colab.with_overrides({"configs": ("random, max pooling", "random, typo")})


def test_with_overrides_checks_and_copies_settings_stay_frozen():
    quick = Toy.for_profile("quick")
    changed = quick.with_overrides({"lr": 1, "size": None})
    assert changed == Toy(None, [1, 2], 1.0) and type(changed.lr) is float
    assert quick == Toy() and quick.with_overrides(None) == quick
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.lr = 0.1
    with pytest.raises(ValueError, match=r"^'sise': unknown setting for test_settings; "
                                         r"did you mean size\? known: lr, size, sizes$"):
        quick.with_overrides({"sise": 3})
    with pytest.raises(ValueError, match=r"^lr=0: must be a number > 0$"):
        quick.with_overrides({"lr": 0})
    assert Toy.parse_sets(["sizes=[4, 5]", "size=null"]) == {"sizes": [4, 5], "size": None}


def test_notebooks_and_runs_read_one_settings_class_per_chapter():
    # The parameters cell of a chapter notebook starts from the chapter's Settings,
    # as bigtext run does (the notebook's numbers are the run's).
    from pathlib import Path

    import nbformat

    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    for chapter, notebook in {"fundamentals": "01_fundamentals",
                              "training_loop": "04_training_loop",
                              "text_pipeline": "03_text_pipeline", "fasttext": "06_fasttext",
                              "baselines": "05_baselines", "word_vectors": "07_word_vectors",
                              "lstm": "08_lstm", "bert": "09_bert"}.items():
        nb = nbformat.read(notebooks / f"{notebook}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert f"from bigtext_lite.experiments import {chapter} as experiment" in cell.source
        assert "S = experiment.Settings.for_profile(PROFILE)" in cell.source, notebook


def test_run_reports_missing_data_in_words(chapter_runs, tmp_path, capsys):
    from bigtext_lite.errors import DataError

    chapter_runs["lstm"].side_effect = DataError("IMDB not found under /nowhere")
    assert cli.main(["run", "lstm", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "IMDB not found under /nowhere\n"

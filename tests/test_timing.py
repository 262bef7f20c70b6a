"""experiments.timing.compare_step_times: behaviour, not speed (no timing is asserted)."""

import torch

from bigtext_lite.experiments import timing


def test_variants_take_turns_and_a_failing_one_is_reported_not_fatal():
    calls = []

    def ok(x):
        calls.append(("ok", x))

    def broken(x):
        raise RuntimeError("no C++ compiler")

    out = timing.compare_step_times({"ok": ok, "broken": broken}, list(range(5)),
                                    torch.device("cpu"), warmup=2, rounds=3)
    assert out["broken"] == {"error": "RuntimeError: no C++ compiler"}
    assert set(out["ok"]) == {"first_steps_s", "step_s", "slowest_round_s"}
    assert 0 <= out["ok"]["step_s"] <= out["ok"]["slowest_round_s"]
    # two warm-up steps, then three rounds over the three remaining batches
    assert [x for _, x in calls] == [0, 1] + [2, 3, 4] * 3


def test_a_real_training_step_changes_the_weights():
    model = torch.nn.Linear(4, 2)
    before = model.weight.detach().clone()
    batches = [(torch.randn(8, 4), torch.randint(0, 2, (8,))) for _ in range(3)]
    out = timing.compare_step_times({"fp32": timing.train_step(model, torch.device("cpu"))},
                                    batches, torch.device("cpu"), warmup=1, rounds=1)
    assert "error" not in out["fp32"] and not torch.equal(model.weight, before)

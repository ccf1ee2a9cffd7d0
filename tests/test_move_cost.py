"""scripts/move_cost.py: a page's CPU per move is the median of its rounds, against the first and a trivial page."""

from scripts import move_cost


def test_the_table_gives_each_pages_median_and_its_ratios_to_the_first_and_the_trivial_page(monkeypatch, tmp_path):
    per_round = {"a trivial page": [0.004, 0.006, 0.005], move_cost.FIRST: [0.010, 0.012, 0.014],
                 "another digit": [0.020, 0.015, 0.016]}  # fmt: skip
    monkeypatch.setattr(move_cost, "PAGES", {page: [] for page in per_round})
    turns = []

    def fake_loadgen(out, visitors, trainings, url, pid, extra):
        page = next(p for p in per_round if out.name.endswith(p.replace(" ", "-")))
        turns.append(page)
        turn = int(out.name.split("-")[0])
        return {"passed": True, "server_cpu": {"per_move_s": per_round[page][turn - 1]}, "messages_per_move": 10 + turn}

    def fake_before(ref, out):  # the first page as an older commit served it: dearer than any page here
        turns.append(ref)
        return {"ref": ref, "per_move_s": 0.030, "messages": 30}

    monkeypatch.setattr(move_cost, "loadgen", fake_loadgen)
    monkeypatch.setattr(move_cost, "move_cost_before", fake_before)
    costs, messages = move_cost.measure(tmp_path, rounds=3, before=("abc123",))
    old = move_cost.before_name("abc123")
    assert costs == per_round | {old: [0.030] * 3}
    assert turns == [*per_round, "abc123"] * 3  # the pages in turns, round after round
    results = {"command": "python -m scripts.move_cost", "timestamp": "now", "commit": "abc", "machine": "here",
               "rounds": 3, "rounds_s": costs, "median_s": move_cost.medians(costs), "messages": messages}  # fmt: skip
    table = move_cost.markdown(results)
    assert "| another digit | 16.0 | 20.0 / 15.0 / 16.0 | 1.33 | 3.20 | 12 |" in table
    assert "| the first page | 12.0 | 10.0 / 12.0 / 14.0 | 1.00 | 2.40 | 12 |" in table
    assert f"| {old} | 30.0 | 30.0 / 30.0 / 30.0 | 2.50 | 6.00 | 30 |" in table
    assert "Dearest page but the first: another digit, 1.33 x the first page." in table  # of this commit's pages

"""`python -m scripts.read_sheets`: the reading benchmark writes its figures, also for a run without some scenes."""

import json

from scripts import read_sheets


def test_a_run_without_the_big_photos_writes_every_other_scene_and_no_big_photo_section(data_root, tmp_path):
    """--big 0 leaves the 12-megapixel scenes out (they are the slowest) and the page says nothing of them."""
    assert read_sheets.main(["--data-root", str(data_root), "--out", str(tmp_path), "--count", "1", "--big", "0"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    scenes = [scene["scene"] for scene in results["scenes"]]
    assert not set(scenes) & set(read_sheets.BIG_SCENES) and len(scenes) == len(read_sheets.sheets.SCENES) - 2
    assert all(0 <= scene["accuracy"] <= 1 and scene["pictures"] == 1 for scene in results["scenes"])
    page = (tmp_path / "README.md").read_text()
    assert "## Simulated pictures" in page and "12-megapixel" not in page
    answers = {row["picture"]: row["answer"] for row in results["no_digits"]}
    assert answers["a blank page"] == [] and answers["1,000 digit-sized marks"][0].startswith("ImageError: 1,000 marks")
    assert "## Pictures of no digits" in page and "| 5,000 specks | ImageError:" in page

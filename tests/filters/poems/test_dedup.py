import polars as pl

from curation.engine import run
from curation.writers import read_shards
from filters.poems.dedup import MarkDuplicates, lsh_parameters, minhash_signatures, shingle_hashes

POEM = "the sea is calm tonight the tide is full the moon lies fair upon the straits on the french coast"


def batches():
    yield pl.DataFrame({"row_id": ["c", "d"], "text": [POEM.upper() + "!", POEM + " gleams"]})
    yield pl.DataFrame({"row_id": ["a", "b"], "text": [POEM, "something else entirely, short"]})


def test_exact_and_near_duplicates_are_marked_across_batches(tmp_path):
    run(batches(), [MarkDuplicates()], tmp_path, progress=False)
    kept = read_shards(tmp_path / "kept").sort("row_id")
    assert kept["duplicate_of"].to_list() == [None, None, "a", None]
    assert kept["near_duplicate_of"].to_list() == [None, None, None, "a"]
    assert kept["reject_reason"].null_count() == 4
    assert "lsh_bands" not in kept.columns


def test_the_first_copy_is_the_smallest_row_id_whatever_the_order():
    dedup = MarkDuplicates()
    rows = pl.DataFrame({"row_id": ["d", "c", "b", "a"], "text": [POEM + " gleams", POEM, "short", POEM]})
    for order in (rows, rows.reverse(), rows.sample(fraction=1.0, shuffle=True, seed=3)):
        marked = dedup(order).sort("row_id")
        assert marked["duplicate_of"].to_list() == [None, None, "a", None]
        assert marked["near_duplicate_of"].to_list() == [None, None, None, "a"]


def test_duplicates_can_be_rejected_with_their_original(tmp_path):
    dedup = MarkDuplicates(drop_exact=True)
    out = dedup(pl.DataFrame({"row_id": ["b", "a"], "text": [POEM, POEM]}))
    assert out["reject_reason"].to_list() == ["exact_duplicate", None]
    assert out["reject_detail"][0] == "same text as a"

    manifest = run(batches(), [MarkDuplicates(drop_exact=True, drop_near=True)], tmp_path, progress=False)
    rejected = read_shards(tmp_path / "rejected").sort("row_id")
    assert rejected["row_id"].to_list() == ["c", "d"]
    assert rejected["reject_reason"].to_list() == ["exact_duplicate", "near_duplicate"]
    assert set(rejected["reject_stage"]) == {"dedup"}
    assert manifest.balanced and manifest.stage("dedup").rejected == 2
    assert sorted(read_shards(tmp_path / "kept")["row_id"]) == ["a", "b"]


def test_minhash_agreement_estimates_the_jaccard_similarity_of_word_5_grams():
    words = [f"w{i}" for i in range(40)]
    other = words[:30] + [f"y{i}" for i in range(10)]  # 26 of the 36 5-grams shared
    texts = [" ".join(words), " ".join(other), "a few words"]
    signatures = minhash_signatures(pl.DataFrame({"text": texts}), num_perm=512, size=5, seed=7).to_numpy()
    shared = 26 / (36 + 36 - 26)
    assert abs((signatures[0] == signatures[1]).mean() - shared) < 0.06
    assert (signatures[0] == signatures[2]).mean() < 0.02


def test_a_text_shorter_than_a_shingle_is_one_shingle():
    shingles = shingle_hashes(pl.DataFrame({"text": ["two words", "", None, "one two three four five six"]}),
                              size=5, seed=1)
    assert shingles.group_by("row").len().sort("row")["len"].to_list() == [1, 1, 1, 2]


def test_lsh_bands_balance_false_positives_and_negatives_as_datasketch_does():
    # reference values: datasketch.lsh._optimal_param(threshold, num_perm, 0.5, 0.5)
    assert lsh_parameters(0.8, 64) == (5, 11)
    assert lsh_parameters(0.5, 128) == (25, 5)
    assert lsh_parameters(0.9, 64) == (3, 21)


def test_the_manifest_counts_the_duplicates_marked_and_kept(tmp_path):
    manifest = run(batches(), [MarkDuplicates()], tmp_path, progress=False)
    dedup = manifest.stage("dedup")
    assert dedup.rejected == 0
    assert dedup.to_dict()["marked"] == {"exact_duplicate": 1, "near_duplicate": 1}

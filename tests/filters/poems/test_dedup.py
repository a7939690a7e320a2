import polars as pl

from filters.poems.dedup import MarkDuplicates

POEM = "the sea is calm tonight the tide is full the moon lies fair upon the straits on the french coast"


def test_exact_and_near_duplicates_are_marked_across_batches():
    dedup = MarkDuplicates()
    first = dedup(pl.DataFrame({"row_id": ["a", "b"], "text": [POEM, "something else entirely, short"]}))
    second = dedup(pl.DataFrame({"row_id": ["c", "d"], "text": [POEM.upper() + "!", POEM + " gleams"]}))
    assert first["duplicate_of"].to_list() == [None, None]
    assert second["duplicate_of"].to_list() == ["a", None]
    assert second["near_duplicate_of"].to_list() == [None, "a"]
    assert "reject_reason" not in second.columns


def test_duplicates_can_be_rejected_with_their_original():
    dedup = MarkDuplicates(drop_exact=True)
    out = dedup(pl.DataFrame({"row_id": ["a", "b"], "text": [POEM, POEM]}))
    assert out["reject_reason"].to_list() == [None, "exact_duplicate"]
    assert out["reject_detail"][1] == "same text as a"

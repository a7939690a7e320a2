import polars as pl

from builders.counts import RevisionCounts, count_revision


def poems(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["row_id", "text", "duplicate_of", "near_duplicate_of", "judge_status"],
                        orient="row")


def test_texts_are_compared_as_the_dedup_stage_normalises_them():
    frame = poems([
        ("a", "The Rose!", None, None, "scored"),
        ("b", "the   rose", "a", None, None),             # exact copy of a after normalisation
        ("c", "Snow falls on the hill", None, None, "failed"),
        ("d", "Snow falls on the hills", None, "c", "scored"),  # near copy of c
        ("e", "Another poem", None, None, "scored"),
        ("a", "The Rose!", None, None, "scored"),           # a drawn again (with replacement)
    ])

    counts = count_revision(frame)

    assert counts == RevisionCounts(rows=6, distinct_poems=5, repeated_draws=1, distinct_texts=4,
                                    exact_duplicates=1, near_duplicates=1, flagged_exact=1, flagged_near=1,
                                    scored=4)


def test_only_duplicates_of_poems_in_the_revision_count_as_kept_duplicates():
    frame = poems([
        ("b", "the rose", "a", None, None),           # its first copy `a` is not in this revision
        ("d", "snow falls on the hills", None, "c", None),
        ("f", "snow fell on the hills", None, "c", None),  # same cluster as d, whose head c is absent
    ])

    counts = count_revision(frame)

    assert (counts.distinct_texts, counts.exact_duplicates, counts.near_duplicates) == (3, 0, 1)
    assert (counts.flagged_exact, counts.flagged_near) == (1, 2)


def test_without_duplicate_marks_or_scores_those_counts_are_unknown():
    counts = count_revision(pl.DataFrame({"row_id": ["x", "y"], "text": ["one", "One."]}))

    assert counts.distinct_texts == 1 and counts.exact_duplicates == 1
    assert counts.near_duplicates is counts.flagged_exact is counts.scored is None

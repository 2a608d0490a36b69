"""Federated SQL semantics: shape, a pod's answer on SQLite / CSV / pandas, refusals, the release rule and the result."""

import sqlite3

import numpy as np
import pandas as pd
import pytest

from smpc.federated import query as q

SPEC = {
    "sql": "SELECT ward, age_band, COUNT(*) AS n, SUM(stay) AS total_stay, AVG(stay) AS mean_stay "
           "FROM admissions GROUP BY ward, age_band",
    "source": "admissions",
    "groupBy": [
        {"column": "ward", "values": ["a", "b", "c"]},
        {"column": "age_band", "bins": {"from": 0, "to": 100, "width": 25}},
    ],
    "aggregates": [
        {"name": "n", "kind": "count"},
        {"name": "total_stay", "kind": "sum", "min": 0, "max": 100000},
        {"name": "mean_stay", "kind": "mean", "min": 0, "max": 60},
    ],
    "minPooledCount": 5,
    "maxRowsPerCell": 1000,
}
POLICY = q.QueryPolicy(tables={"admissions": ["*"]})


def _pod_frame(seed, rows):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "ward": rng.choice(["a", "b", "c"], rows),
        "age_band": rng.integers(0, 4, rows) * 25 + rng.integers(0, 25, rows),
        "stay": np.round(rng.uniform(0, 30, rows), 2),
        "secret": rng.integers(0, 10, rows),
    })


def _sqlite_file(tmp_path, name, df):
    path = tmp_path / f"{name}.db"
    conn = sqlite3.connect(path)
    df.to_sql("admissions", conn, index=False)
    conn.commit()
    conn.close()
    return path


def test_shape_cells_labels_and_round_fields():
    shape = q.QueryShape.create(SPEC)
    assert shape.cell_count == 12
    assert shape.cell_labels(0) == ["a", "[0, 25)"] and shape.cell_labels(5) == ["b", "[25, 50)"]
    assert shape.cell_of(["b", 30]) == 5 and shape.cell_of(["b", "30"]) == 5 and shape.cell_of(["b", 30.0]) == 5
    assert shape.cell_of(["d", 30]) is None and shape.cell_of(["a", 100]) is None and shape.cell_of([None, 1]) is None
    assert shape.count_round_fields() == [
        {"name": "n", "length": 12, "min": 0.0, "max": 1000.0, "precision": 1},
        {"name": "suppressed-pods", "length": 12, "min": 0.0, "max": 1.0, "precision": 1},
    ]
    assert shape.value_round_fields(3) == [
        {"name": "total_stay", "length": 3, "min": 0.0, "max": 100000.0, "precision": 10000},
        {"name": "mean_stay", "length": 3, "min": 0.0, "max": 60000.0, "precision": 10000},
    ]
    assert shape.value_round_fields(0) == []


def test_date_bins_domain():
    shape = q.QueryShape.create({"sql": "select 1", "source": "s", "groupBy": [
        {"column": "d", "dateBins": {"from": "2024-01-01", "to": "2024-04-01", "unit": "month"}}],
        "aggregates": [{"name": "n", "kind": "count"}]})
    assert shape.cell_count == 3 and shape.cell_labels(2) == ["2024-03"]
    assert shape.cell_of(["2024-02-29"]) == 1 and shape.cell_of(["2024-03-31T23:30:00+05:00"]) == 2
    assert shape.cell_of(["2024-04-01"]) is None and shape.cell_of(["March"]) is None


@pytest.mark.parametrize("change, message", [
    ({"aggregates": [{"name": "s", "kind": "sum", "max": 1}]}, "needs a count aggregate"),
    ({"aggregates": [{"name": "n", "kind": "count", "precision": 10}]}, "precision must be 1"),
    ({"aggregates": [{"name": "withheld", "kind": "count"}]}, "reserved"),
    ({"aggregates": [{"name": "n", "kind": "count"}, {"name": "N", "kind": "count"}]}, "used twice"),
    ({"aggregates": [{"name": "n", "kind": "count"}, {"name": "m", "kind": "mean", "max": 1e12}]}, "overflows the field"),
    ({"groupBy": [{"column": "x", "values": ["a"], "bins": {"from": 0, "to": 1, "width": 1}}]}, "exactly one of"),
    ({"groupBy": [{"column": "x", "bins": {"from": 0, "to": 10**6, "width": 1}}]}, "more than the 100000 cells"),
    ({"groupBy": [{"column": "x", "dateBins": {"from": "2024-01-02", "to": "2024-03-01", "unit": "month"}}]}, "first day"),
])
def test_invalid_specs_are_refused_by_name(change, message):
    with pytest.raises(q.QuerySpecError, match=message):
        q.QueryShape.create({**SPEC, **change})


def test_sqlite_csv_and_pandas_sources_give_the_same_answer(tmp_path):
    df = _pod_frame(1, 200)
    shape = q.QueryShape.create(SPEC)
    from_df = q.run_query(shape, "admissions", df, POLICY)
    from_db = q.run_query(shape, "admissions", {"kind": "sqlite", "path": str(_sqlite_file(tmp_path, "p", df))}, POLICY)
    df.to_csv(tmp_path / "p.csv", index=False)
    from_csv = q.run_query(shape, "admissions", tmp_path / "p.csv", POLICY)
    for r in (from_db, from_csv):
        np.testing.assert_array_equal(r.counts, from_df.counts)
        np.testing.assert_allclose(r.sums, from_df.sums, rtol=1e-12)
    assert from_df.counts.sum() == 200
    # The mean is sent as mean · count: equal to the cell's sum of stays.
    np.testing.assert_allclose(from_df.sums[1], from_df.sums[0], rtol=1e-9)


def test_three_pods_pool_to_the_sql_over_all_rows(tmp_path):
    frames = [_pod_frame(s, 120 + 40 * s) for s in range(3)]
    shape = q.QueryShape.create(SPEC)
    policy = q.QueryPolicy(tables={"admissions": ["ward", "age_band", "stay"]}, min_rows_per_group=2)
    answers = [q.run_query(shape, "admissions", df, policy) for df in frames]
    # What secure aggregation computes: the sums of the pods' vectors, field by field.
    counts_vec = sum(q.count_round_input(a) for a in answers)
    count_sums = {"n": counts_vec[:12], "suppressed-pods": counts_vec[12:]}
    release = q.decide_release(shape, count_sums, shape.min_pooled_count)
    for a in answers:
        assert q.release_refusal(shape, release, a, shape.min_pooled_count) is None
    values_vec = sum(q.value_round_input(a, release["releasedCells"]) for a in answers)
    k = len(release["releasedCells"])
    table = q.result_table(shape, release, count_sums, {"total_stay": values_vec[:k], "mean_stay": values_vec[k:]})
    pooled = pd.concat(frames)
    conn = sqlite3.connect(":memory:")
    pooled.to_sql("admissions", conn, index=False)
    expected = {(w, f"[{b}, {b + 25})"): (n, s) for w, b, n, s in conn.execute(
        "SELECT ward, (age_band / 25) * 25, COUNT(*), SUM(stay) FROM admissions GROUP BY 1, 2")}
    assert list(table.columns) == ["ward", "age_band", "n", "total_stay", "mean_stay", "withheld", "suppressed_on"]
    for row in table.itertuples(index=False):
        n, s = expected.get((row.ward, row.age_band), (0, 0.0))
        if row.suppressed_on == 0:
            assert row.n == n
            if not row.withheld and n:
                assert row.total_stay == pytest.approx(s, rel=1e-12)
                assert row.mean_stay == pytest.approx(s / n, rel=1e-12)
        assert row.withheld == (row.n < 5)


def test_small_cells_are_suppressed_on_the_pod():
    df = pd.DataFrame({"ward": ["a"] * 3 + ["b"] * 10, "age_band": [1] * 13, "stay": [1.0] * 13})
    r = q.run_query(q.QueryShape.create(SPEC), "admissions", df, q.QueryPolicy(tables={"admissions": ["*"]}, min_rows_per_group=5))
    assert r.suppressed.tolist() == [True] + [False] * 3 + [False] * 8
    assert r.counts[0, 0] == 0 and r.counts[0, 4] == 10 and r.sums[0, 0] == 0
    assert q.count_round_input(r)[12] == 1.0


@pytest.mark.parametrize("sql, policy_tables, message", [
    ("SELECT ward, age_band, 1 AS n, stay AS total_stay, stay AS mean_stay FROM admissions", {"admissions": ["*"]}, "not an aggregate query"),
    ("SELECT ward, age_band, COUNT(*) AS n, SUM(secret) AS total_stay, 1 AS mean_stay FROM admissions GROUP BY 1, 2",
     {"admissions": ["ward", "age_band", "stay"]}, "column admissions.secret"),
    ("SELECT 1; DROP TABLE admissions", {"admissions": ["*"]}, "single SQL statement"),
    ("DELETE FROM admissions", {"admissions": ["*"]}, "must be a SELECT"),
    ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 5) SELECT 'a' AS ward, 1 AS age_band, "
     "COUNT(*) AS n, 0 AS total_stay, 0 AS mean_stay FROM r", {"admissions": ["*"]}, "recursive"),
    ("SELECT ward, age_band, COUNT(*) AS n FROM admissions GROUP BY 1, 2", {"admissions": ["*"]}, "no column total_stay"),
])
def test_policy_and_sql_refusals(tmp_path, sql, policy_tables, message):
    path = _sqlite_file(tmp_path, "r", _pod_frame(3, 50))
    with pytest.raises(q.QueryRefused, match=message):
        q.run_query(q.QueryShape.create({**SPEC, "sql": sql}), "admissions", {"kind": "sqlite", "path": str(path)},
                    q.QueryPolicy(tables=policy_tables))


def test_out_of_domain_and_out_of_bounds_refuse_without_quoting_the_value():
    df = pd.DataFrame({"ward": ["z"], "age_band": [1], "stay": [1.0]})
    with pytest.raises(q.QueryRefused) as e:
        q.run_query(q.QueryShape.create(SPEC), "admissions", df, POLICY)
    assert "outside the query's declared group-by domain" in str(e.value) and "z" not in str(e.value) and "ward=z" in e.value.detail
    df = pd.DataFrame({"ward": ["a"], "age_band": [1], "stay": [77.125]})
    with pytest.raises(q.QueryRefused) as e:
        q.run_query(q.QueryShape.create(SPEC), "admissions", df, POLICY)
    assert "mean_stay is outside the declared bounds [0, 60]" in str(e.value) and "77.125" not in str(e.value)
    assert "77.125" in e.value.detail


def test_the_pod_refuses_a_release_below_the_minimum_or_its_own_count():
    shape = q.QueryShape.create(SPEC)
    own = q.PodQueryResult(np.array([[6] + [0] * 11]), np.zeros((2, 12)), np.zeros(12, bool), 1)
    ok = {"pooledCounts": [9] + [0] * 11, "suppressedOn": [0] * 12, "releasedCells": [0]}
    assert q.release_refusal(shape, ok, own, 5) is None
    assert "below the minimum 5" in q.release_refusal(shape, {**ok, "pooledCounts": [4] + [0] * 11}, own, 5)
    assert "below this pod's own count" in q.release_refusal(shape, {**ok, "pooledCounts": [5] + [0] * 11}, own, 5)
    assert "increasing order" in q.release_refusal(shape, {**ok, "releasedCells": [0, 0]}, own, 0)
    assert "12 cells" in q.release_refusal(shape, {**ok, "pooledCounts": [9]}, own, 5)


def test_decide_release_refuses_a_sum_no_honest_pods_can_make():
    shape = q.QueryShape.create(SPEC)
    with pytest.raises(ValueError, match="not a pooled count"):
        q.decide_release(shape, {"n": np.array([1.5] + [0.0] * 11), "suppressed-pods": np.zeros(12)}, 0)


def test_key_text_matches_dotnet_invariant_formatting():
    assert q.key_text(3.0) == "3" and q.key_text(0.1) == "0.1" and q.key_text(1e15) == "1E+15" and q.key_text(1e-05) == "1E-05"
    assert q.key_text(12) == "12" and q.key_text(None) is None and q.key_text(b"x") is None

"""Many rows as column arrays (helpline.kit.arrays): the statement text and its parameters."""

from __future__ import annotations

from helpline.kit.arrays import as_arrays, insert_rows, unnest

TYPES = {"ticket_id": "uuid", "seq": "int"}


class TestColumnArrays:
    def test_unnest_casts_each_column_parameter_to_an_array_of_its_type(self) -> None:
        assert unnest(TYPES) == "unnest(CAST(:ticket_id AS uuid[]), CAST(:seq AS int[]))"

    def test_insert_names_the_columns_in_order_and_ends_with_the_conflict_clause(self) -> None:
        assert insert_rows("facts", TYPES, "ON CONFLICT DO NOTHING") == (
            "INSERT INTO facts (ticket_id, seq) SELECT * FROM"
            " unnest(CAST(:ticket_id AS uuid[]), CAST(:seq AS int[])) ON CONFLICT DO NOTHING"
        )

    def test_parameters_are_one_list_per_column_rows_in_order(self) -> None:
        rows = [{"ticket_id": "a", "seq": 1, "extra": 0}, {"ticket_id": "b", "seq": 2, "extra": 0}]
        assert as_arrays(rows, TYPES) == {"ticket_id": ["a", "b"], "seq": [1, 2]}

    def test_no_rows_give_empty_arrays(self) -> None:
        assert as_arrays([], TYPES) == {"ticket_id": [], "seq": []}

"""Exported cells stay text: control characters dropped, formula-like text never runs as a formula."""
from openpyxl import load_workbook

from app.reports.export import csv_chunks, write_xlsx


def test_csv_cells_that_look_like_formulas_get_an_apostrophe_and_control_characters_go():
    text = b"".join(csv_chunks(["a"], [["=1+2"], ["@SUM(A1)"], ["+86 138 0000 0000"], ["-5"], ["ab\x05c"], [7]]))
    lines = text.decode("utf-8-sig").splitlines()
    assert lines == ["a", "'=1+2", "'@SUM(A1)", "+86 138 0000 0000", "-5", "abc", "7"]


def test_excel_stores_formula_like_text_as_text(tmp_path):
    path = tmp_path / "t.xlsx"
    write_xlsx(path, [("t", ["a"], [["=HYPERLINK(\"http://x\")"], ["a\x05b"], [3]])])
    cells = [(c.value, c.data_type) for row in load_workbook(path).active.iter_rows(min_row=2) for c in row]
    assert cells == [("=HYPERLINK(\"http://x\")", "s"), ("ab", "s"), (3, "n")]

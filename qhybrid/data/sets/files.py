"""Data sets read from the user's files."""

from qhybrid.data.options import DATA
from qhybrid.data.spec import CsvDataSpec

DATA.add("csv", CsvDataSpec, "qhybrid.data.csv_file:load_csv",
         "your CSV file: data.path=<file> data.target=<column> (classes, or numbers to regress; "
         "data.test_path for a fixed test set)", reads_task=True)

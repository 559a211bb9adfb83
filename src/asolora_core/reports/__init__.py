"""The vendor dashboard's reports (R28, R30-R33): pure folds over per-order facts and rollups,
with each store pushing the work to where the data is (SQL on SQLite), so that every report
gives the same figures whichever store holds the data (R33)."""

"""Reports and the 台账: gathered, laid out, and written as spreadsheets."""

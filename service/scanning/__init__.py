"""Worksheets that come back (issue 16): the printed page's layout (layout.py, drawn by the PDF and read
by the scanner), the QR code's keyed check (sheets.py), reading a page image (read.py, pure: no
database, no HTTP) and storing what was read (store.py: attempts, error book, evening time, the
review queue)."""

"""Customer segmentation engine: DuckDB store, ingest, cleaning, validation, K-Means, profiles, export.

Importable without Dash; the app's callbacks, the CLI (`python -m core`) and the tests all call it.
"""

"""Reading the lake: DuckDB views for `flight-assets query`, sizes and a monthly bill for `flight-assets plan`.
No Dagster import.
"""

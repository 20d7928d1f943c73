"""The lake: a local folder or S3 behind one interface, where each object lives, what the raw layer holds, and
one hour of a Parquet table as one object. No Dagster import.
"""

"""Ingestion: one governed poll landed byte-exact in raw/ (the same function for Lambda, Dagster and the CLI)
and the spool that keeps a paid-for body storage would not take. No Dagster import.
"""

"""The hourly tables: the validation engine and its rules, the per-country aggregate, the data-quality checks as
plain functions, and one hour built with write-audit-publish. No Dagster import.
"""

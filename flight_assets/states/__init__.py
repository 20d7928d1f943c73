"""The hourly tables: the validation engine and its rules, the per-country aggregate, the data-quality checks as
plain functions, and one hour built with write-audit-publish. No Dagster import.
"""

# A backfill of many hours becomes runs of at most a day each (parallel ECS tasks on AWS, bounded by the run queue
# locally); within a run the hours are built one after another, one hour in memory. The Dagster backfill policy and
# the capacity plan's year of backfill both read it.
HOURS_PER_BACKFILL_RUN = 24

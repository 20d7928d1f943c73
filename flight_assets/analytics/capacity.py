"""Cost and capacity model: what a tier and box mean in credits, snapshots, bytes and dollars per month.

Sizes come from measurement (analytics/sizes.py). Prices are AWS us-east-1 list prices (2026) for what deploy/terraform creates by default (deploy/README.md
shows the same sum line by line); they are inputs, so a reader can redo it. No Dagster import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flight_assets.analytics.sizes import (
    REFERENCE_AGGREGATES_BYTES_PER_HOUR,
    Sizes,
    column_share,
    reference_sizes,
)
from flight_assets.opensky.credits import DAY_S, BBox, plan_cadence
from flight_assets.states import HOURS_PER_BACKFILL_RUN

DAYS_PER_MONTH = 30
HOURS_PER_YEAR = 8_760

# Measured with `make bench` (2026-12-04, this project's 2-core x86_64 machine, medians; README's Performance table):
# bench/hourly.py builds one global hour, 120 snapshots x 10,578 states = 1,269,360 rows, raw -> validated +
# quarantine (1.2 s, peak RSS 371 MB) -> country aggregates (0.4 s); bench/backfill.py runs 48 hours of 12 such
# snapshots through `dagster dev` in 2 runs of 24 hours: 43 s inside the runs, 14 s of it building the tables, which
# puts Dagster's own share of an hour (listing, 2 materializations and 8 check results written, the run's start-up
# spread over its hours) at 0.6 s. (The daemon's pick-up is not in it: FARGATE_RUN_STARTUP_S stands for that.)
REFERENCE_HOUR_ROWS = 1_269_360
REFERENCE_HOUR_BUILD_S = 1.6
REFERENCE_HOUR_PEAK_MB = 371
DAGSTER_SECONDS_PER_HOUR = 0.6
# Assumptions, not measurements (no AWS account here): a Fargate run task starts in about a minute (placement,
# image pull, interpreter start), reads S3 at 100 MB/s, and one of its vCPUs builds an hour as fast as one core here.
FARGATE_RUN_STARTUP_S = 60.0
S3_READ_BYTES_PER_S = 100e6
RUN_TASK_VCPU, RUN_TASK_GB = 1.0, 2.0  # deploy/dagster.yaml run_resources

@dataclass(frozen=True)
class Prices:
    s3_gb_month: float = 0.023
    s3_put_per_1000: float = 0.005
    lambda_gb_s_arm: float = 0.0000133334
    lambda_per_million_requests: float = 0.20
    s3_get_per_1000: float = 0.0004
    s3_list_per_1000: float = 0.005
    athena_per_tb: float = 5.0
    athena_min_bytes: float = 10e6  # Athena bills at least 10 MB a query
    fargate_vcpu_hour: float = 0.04048  # x86, the Terraform default (cpu_architecture)
    fargate_gb_hour: float = 0.004445
    rds_t4g_micro_hour: float = 0.016
    rds_gb_month: float = 0.115
    alb_hour: float = 0.0225
    nat_gateway_hour: float = 0.045
    secrets_per_month: float = 0.40
    kms_key_per_month: float = 1.00
    cloudwatch_logs_gb: float = 0.50


@dataclass(frozen=True)
class CapacityPlan:
    tier: str
    interval_s: int
    credits_per_day: int
    snapshots_per_day: int
    states_per_day: int
    raw_bytes_per_day: float
    parquet_bytes_per_day: float
    lambda_invocations_per_month: int
    lambda_gb_seconds_per_month: float
    monthly_cost: dict[str, float]
    sizes: Sizes

    @property
    def monthly_total(self) -> float:
        return sum(self.monthly_cost.values())


def plan_capacity(
    tier: str,
    bbox: BBox | None = None,
    sizes: Sizes | None = None,
    prices: Prices = Prices(),
    lambda_memory_gb: float = 0.25,  # deploy/terraform ingestion module default
    polls_per_invocation: int = 2,
    poll_s: float = 0.2,
) -> CapacityPlan:
    """Daily volumes and a monthly AWS bill for polling at the cadence the tier sustains."""
    cadence = plan_cadence(tier, bbox)
    sizes = sizes or reference_sizes(bbox)
    snapshots = DAY_S // cadence.interval_s
    states = round(snapshots * sizes.states_per_snapshot)
    raw_day = states * sizes.raw_bytes_per_state
    parquet_day = states * sizes.parquet_bytes_per_row
    invocations = DAY_S // 60 * DAYS_PER_MONTH  # EventBridge rate(1 minute)
    # An invocation lasts from its first poll to the end of its last: the 30-s wait between polls is billed too.
    seconds = (polls_per_invocation - 1) * 30 + poll_s * polls_per_invocation
    gb_s = invocations * seconds * lambda_memory_gb
    month_gb_raw = raw_day * DAYS_PER_MONTH / 1e9
    month_gb_parquet = parquet_day * DAYS_PER_MONTH / 1e9 * 1.05  # + quarantine and aggregates (measured < 5 %)
    hours = 24 * DAYS_PER_MONTH
    cost = {
        "Lambda (GB-seconds + requests)": gb_s * prices.lambda_gb_s_arm
        + invocations / 1e6 * prices.lambda_per_million_requests,
        "S3 storage of a month's data (raw + processed)": (month_gb_raw + month_gb_parquet) * prices.s3_gb_month,
        "S3 PUTs": (snapshots * DAYS_PER_MONTH + 3 * hours) / 1000 * prices.s3_put_per_1000,
        # webserver, daemon and code server: 0.5 vCPU / 1 GB each, always on (deploy/terraform defaults)
        "Fargate services": hours * 3 * (0.5 * prices.fargate_vcpu_hour + 1.0 * prices.fargate_gb_hour),
        # one hourly run a hour, 1 vCPU / 2 GB for ~4 minutes
        "Fargate run tasks": hours * 4 / 60 * (1.0 * prices.fargate_vcpu_hour + 2.0 * prices.fargate_gb_hour),
        "RDS PostgreSQL db.t4g.micro + 20 GB": hours * prices.rds_t4g_micro_hour + 20 * prices.rds_gb_month,
        "Application Load Balancer": hours * prices.alb_hour,
        "NAT gateway (private subnets)": hours * prices.nat_gateway_hour,
        "KMS key + Secrets Manager (2 secrets)": prices.kms_key_per_month + 2 * prices.secrets_per_month,
        "CloudWatch Logs (~1 KB a poll)": snapshots * DAYS_PER_MONTH * 1e3 / 1e9 * prices.cloudwatch_logs_gb,
    }
    return CapacityPlan(
        tier=tier, interval_s=cadence.interval_s, credits_per_day=snapshots * cadence.cost_per_call,
        snapshots_per_day=snapshots, states_per_day=states, raw_bytes_per_day=raw_day,
        parquet_bytes_per_day=parquet_day, lambda_invocations_per_month=invocations,
        lambda_gb_seconds_per_month=gb_s, monthly_cost=cost, sizes=sizes,
    )


@dataclass(frozen=True)
class BackfillPlan:
    hours: int
    parallel: int
    runs: int
    hour_s: float
    run_s: float
    wall_s: float
    cost: dict[str, float]

    @property
    def total_cost(self) -> float:
        return sum(self.cost.values())


def hour_build_s(states_per_hour: float, raw_bytes_per_hour: float) -> float:
    """One hour inside a backfill run: Dagster's share, the build (scaled by rows), and reading the raw objects."""
    return (DAGSTER_SECONDS_PER_HOUR + REFERENCE_HOUR_BUILD_S * states_per_hour / REFERENCE_HOUR_ROWS
            + raw_bytes_per_hour / S3_READ_BYTES_PER_S)


def plan_backfill(plan: CapacityPlan, parallel: int, hours: int = HOURS_PER_YEAR,
                  prices: Prices = Prices()) -> BackfillPlan:
    """Wall time and cost of rebuilding `hours` hours on ECS, `parallel` run tasks at a time (the `hourly_tables`
    pool's limit and the backfill tag limit in deploy/dagster.yaml must allow that many)."""
    snapshots_per_hour = 3600 / plan.interval_s
    hour_s = hour_build_s(plan.states_per_day / 24, plan.raw_bytes_per_day / 24)
    runs = math.ceil(hours / HOURS_PER_BACKFILL_RUN)
    run_s = FARGATE_RUN_STARTUP_S + min(hours, HOURS_PER_BACKFILL_RUN) * hour_s
    waves = math.ceil(runs / parallel)
    task_hours = (runs * FARGATE_RUN_STARTUP_S + hours * hour_s) / 3600
    cost = {
        "Fargate run tasks": task_hours * (RUN_TASK_VCPU * prices.fargate_vcpu_hour + RUN_TASK_GB * prices.fargate_gb_hour),
        "S3 GETs of the raw objects": hours * snapshots_per_hour / 1000 * prices.s3_get_per_1000,
        "S3 LISTs and PUTs (3 files an hour)": hours * (2 * prices.s3_list_per_1000 + 3 * prices.s3_put_per_1000) / 1000,
    }
    return BackfillPlan(hours, parallel, runs, hour_s, run_s, waves * run_s, cost)


# What analysts ask, as the columns Athena must scan (Parquet is read column by column, partitions by projection).
ATHENA_QUERIES = {
    "states per country and hour (country_aggregates)": None,
    "tracks: icao24, longitude, latitude, snapshot_time": ["icao24", "longitude", "latitude", "snapshot_time"],
    "traffic: origin_country, on_ground, baro_altitude, velocity": ["origin_country", "on_ground", "baro_altitude",
                                                                   "velocity"],
    "every column of validated_states": ["*"],
}


def athena_scan_bytes(plan: CapacityPlan, columns: list[str] | None, hours: int = HOURS_PER_YEAR) -> float:
    """Bytes one query over `hours` hours scans: country_aggregates when `columns` is None, else those columns."""
    if columns is None:
        return REFERENCE_AGGREGATES_BYTES_PER_HOUR * hours
    share = 1.0 if columns == ["*"] else column_share(columns)
    return plan.parquet_bytes_per_day / 24 * hours * share


def athena_query_cost(scan_bytes: float, prices: Prices = Prices()) -> float:
    return max(scan_bytes, prices.athena_min_bytes) / 1e12 * prices.athena_per_tb


def describe_scale(plan: CapacityPlan, parallel: list[int], queries_per_day: int) -> str:
    """A year of backfill on ECS and a day of Athena queries over a year, for the tier's volumes."""
    one = plan_backfill(plan, 1)
    lines = [
        f"backfilling a year ({HOURS_PER_YEAR:,} hours) on ECS: {one.runs} runs of {HOURS_PER_BACKFILL_RUN} hours, "
        f"{one.hour_s:.1f} s an hour, {RUN_TASK_VCPU:g} vCPU / {RUN_TASK_GB:g} GB a task "
        f"(an hour peaks at {REFERENCE_HOUR_PEAK_MB} MB)",
    ]
    for n in parallel:
        backfill = plan_backfill(plan, n)
        lines.append(f"  {n:3d} task(s) at a time: {_duration(backfill.wall_s):>10s}, "
                     f"${backfill.total_cost:,.2f} (" + ", ".join(f"{k} ${v:,.2f}" for k, v in backfill.cost.items())
                     + ")")
    lines.append(f"a day of Athena queries over a year of data ({queries_per_day} of each, "
                 f"${Prices().athena_per_tb:g}/TB scanned, {Prices().athena_min_bytes / 1e6:g} MB minimum):")
    day_total = 0.0
    for name, columns in ATHENA_QUERIES.items():
        scan = athena_scan_bytes(plan, columns)
        cost = athena_query_cost(scan)
        day_total += cost * queries_per_day
        lines.append(f"    {name:62s} {_human(scan):>10s} ${cost:8.4f} a query")
    lines.append(f"    {'a day of ' + str(queries_per_day) + ' of each':62s} {'':>10s} ${day_total:8.2f}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * DAY_S:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / DAY_S:.1f} days"


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} PB"


def describe(plan: CapacityPlan, days: int = DAYS_PER_MONTH) -> str:
    s = plan.sizes
    lines = [
        f"tier {plan.tier}: one poll every {plan.interval_s} s",
        f"  credits per day:        {plan.credits_per_day:,}",
        f"  snapshots per day:      {plan.snapshots_per_day:,}",
        f"  states per day:         {plan.states_per_day:,} ({s.states_per_snapshot:,.0f} per snapshot)",
        f"  raw (gzip JSON):        {_human(plan.raw_bytes_per_day)}/day, {_human(plan.raw_bytes_per_day * days)} "
        f"in {days} days",
        f"  validated Parquet:      {_human(plan.parquet_bytes_per_day)}/day, "
        f"{_human(plan.parquet_bytes_per_day * days)} in {days} days",
        f"  sizes from {s.source}: {s.raw_bytes_per_state:.1f} B/state raw, {s.parquet_bytes_per_row:.1f} B/row Parquet",
        f"  Lambda: {plan.lambda_invocations_per_month:,} invocations, "
        f"{plan.lambda_gb_seconds_per_month:,.0f} GB-seconds a month",
        "  approximate monthly AWS bill (us-east-1 list prices):",
        *(f"    {name:48s} ${cost:9,.2f}" for name, cost in plan.monthly_cost.items()),
        f"    {'total':48s} ${plan.monthly_total:9,.2f}",
    ]
    return "\n".join(lines)

"""Cost and capacity model: what a tier and box mean in credits, snapshots, bytes and dollars per month.

Sizes come from measurement (analytics/sizes.py). Prices are AWS us-east-1 list prices (2026) for what deploy/terraform creates by default (deploy/README.md
shows the same sum line by line); they are inputs, so a reader can redo it. No Dagster import.
"""

from __future__ import annotations

from dataclasses import dataclass

from flight_assets.analytics.sizes import Sizes, reference_sizes
from flight_assets.opensky.credits import DAY_S, BBox, plan_cadence

DAYS_PER_MONTH = 30

@dataclass(frozen=True)
class Prices:
    s3_gb_month: float = 0.023
    s3_put_per_1000: float = 0.005
    lambda_gb_s_arm: float = 0.0000133334
    lambda_per_million_requests: float = 0.20
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

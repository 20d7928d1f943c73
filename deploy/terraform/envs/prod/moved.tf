# A resource that moved between modules (the module's own moved blocks cover moves inside it): a deployment made
# with the old address keeps the resource.

# The OpenSky-blocked alarm is one of the ingestion function's alarms (modules/ingestion), no longer in monitoring.
moved {
  from = module.monitoring.aws_cloudwatch_metric_alarm.ingest_blocked
  to   = module.ingestion.aws_cloudwatch_metric_alarm.this["opensky-blocked"]
}

# Athena: a workgroup whose settings users cannot override (results encrypted with the lake's key, a per-query scan
# limit) and the two example queries of the project README, saved as named queries.

locals {
  day_parts = split("-", var.example_day)
  day_where = "year = '${local.day_parts[0]}' AND month = '${local.day_parts[1]}' AND day = '${local.day_parts[2]}'"
}

resource "aws_athena_workgroup" "this" {
  name          = var.name_prefix
  description   = "flight_assets lake queries"
  force_destroy = var.force_destroy
  state         = "ENABLED"

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${var.athena_results_bucket}/results/"
      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}

# The example queries, saved unless named_queries = false.
locals {
  example_queries = {
    states_by_country_for_a_day = {
      name        = "states per country for a day"
      description = "State vectors and aircraft per origin country over one UTC day, from the hourly gold aggregates."
      query       = <<-SQL
        -- State vectors and aircraft per origin country over one UTC day, from the hourly gold aggregates.
        -- Distinct counts do not add across hours, so the day's aircraft figure is the busiest hour's distinct icao24s.
        -- Partition columns are zero-padded strings: only that day's files are read.
        SELECT
            origin_country,
            sum(states)   AS states,
            max(aircraft) AS peak_hourly_aircraft,
            count(*)      AS hours
        FROM country_aggregates
        WHERE ${local.day_where}
        GROUP BY origin_country
        ORDER BY states DESC, origin_country
      SQL
    }
    altitude_bands = {
      name        = "altitude bands for a day"
      description = "State vectors and distinct aircraft per barometric altitude band over one UTC day, from validated_states."
      query       = <<-SQL
        -- State vectors and distinct aircraft per barometric altitude band over one UTC day.
        -- Rows on the ground form their own band; airborne rows without a barometric altitude are 'unknown'.
        SELECT
            element_at(ARRAY['ground', '< 1 km', '1-3 km', '3-6 km', '6-9 km', '9-12 km', '> 12 km', 'unknown'], band) AS altitude_band,
            count(*)               AS states,
            count(DISTINCT icao24) AS aircraft
        FROM (
            SELECT
                icao24,
                CASE
                    WHEN on_ground              THEN 1
                    WHEN baro_altitude IS NULL  THEN 8
                    WHEN baro_altitude <  1000  THEN 2
                    WHEN baro_altitude <  3000  THEN 3
                    WHEN baro_altitude <  6000  THEN 4
                    WHEN baro_altitude <  9000  THEN 5
                    WHEN baro_altitude < 12000  THEN 6
                    ELSE 7
                END AS band
            FROM validated_states
            WHERE ${local.day_where}
        )
        GROUP BY band
        ORDER BY band
      SQL
    }
  }
}

resource "aws_athena_named_query" "this" {
  for_each    = var.named_queries ? local.example_queries : {}
  name        = each.value.name
  description = each.value.description
  workgroup   = aws_athena_workgroup.this.id
  database    = aws_glue_catalog_database.this.name
  query       = each.value.query
}

# Live views for Athena, the same two as `flight-assets query` offers locally:
# - live_states:   validated_states for every built hour, plus the hours that have raw snapshots but no validated file
#                  yet, read from raw_states (the API bodies) and validated in SQL by the rules of
#                  flight_assets/states/validation.py (hard rules drop the row as the build quarantines it, soft rules set the
#                  flag_* columns, same cleaning), with the same columns;
# - latest_states: the live rows of the newest snapshot of the current or previous UTC hour (empty when nothing
#                  landed for two hours).
# Athena views are Glue tables of type VIRTUAL_VIEW whose original text is the base64 JSON of a Presto view.
# Thresholds mirror flight_assets/states/validation.py (STALE_POSITION_S, the plausible altitude range, MAX_PLAUSIBLE_SPEED_MS,
# MAX_GROUND_ALTITUDE_M); test_deploy.py checks that they agree.

locals {
  validation = {
    stale_position_s = 300
    min_altitude_m   = -500
    max_altitude_m   = 20000
    max_speed_ms     = 400
    max_ground_alt_m = 4500
  }

  # Hive types of the Glue columns → the Presto types a view declares.
  presto_type = {
    string = "varchar", timestamp = "timestamp", double = "double", boolean = "boolean", tinyint = "tinyint",
    int    = "integer", bigint = "bigint"
  }
  view_columns = concat(
    local.tables.validated_states.columns,
    [for p in local.contract.partition_keys : { name = p, type = "string", comment = "partition, zero-padded except year" }],
  )
  view_column_list = join(", ", [for c in local.view_columns : c.name])

  # One raw state vector (an array of JSON values read as strings; element_at is NULL past a 13-field legacy row).
  raw_fields_sql = <<-SQL
    SELECT
        CAST(from_unixtime(r.time) AS timestamp)                   AS snapshot_time,
        lower(element_at(s, 1))                                    AS icao24,
        nullif(rtrim(element_at(s, 2)), '')                        AS callsign,
        CASE WHEN trim(element_at(s, 3)) = '' THEN NULL ELSE element_at(s, 3) END AS origin_country,
        CAST(from_unixtime(try_cast(element_at(s, 4) AS bigint)) AS timestamp) AS time_position,
        CAST(from_unixtime(try_cast(element_at(s, 5) AS bigint)) AS timestamp) AS last_contact,
        try_cast(element_at(s, 6) AS double)                       AS longitude,
        try_cast(element_at(s, 7) AS double)                       AS latitude,
        try_cast(element_at(s, 8) AS double)                       AS baro_altitude,
        try_cast(element_at(s, 9) AS boolean)                      AS on_ground,
        try_cast(element_at(s, 10) AS double)                      AS velocity,
        try_cast(element_at(s, 11) AS double)                      AS raw_track,
        try_cast(element_at(s, 12) AS double)                      AS vertical_rate,
        try_cast(element_at(s, 14) AS double)                      AS geo_altitude,
        element_at(s, 15)                                          AS squawk,
        try_cast(element_at(s, 16) AS boolean)                     AS spi,
        try_cast(element_at(s, 17) AS tinyint)                     AS position_source,
        try_cast(element_at(s, 18) AS tinyint)                     AS category,
        cardinality(s)                                             AS fields,
        r."$path"                                                  AS source_key,
        n                                                          AS row_index,
        r.year, r.month, r.day, r.hour
    FROM raw_states r
    CROSS JOIN UNNEST(r.states) WITH ORDINALITY AS t (s, n)
    -- wrong_hour: a body whose own time lies outside its hour= folder is left out, as the build quarantines it
    WHERE date_format(from_unixtime(r.time), '%Y-%m-%d-%H') = concat(r.year, '-', r.month, '-', r.day, '-', r.hour)
      AND NOT EXISTS (  -- hours already built are read from validated_states
        SELECT 1 FROM validated_states v
        WHERE v.year = r.year AND v.month = r.month AND v.day = r.day AND v.hour = r.hour
    )
  SQL

  live_states_sql = <<-SQL
    SELECT ${local.view_column_list} FROM validated_states
    UNION ALL
    SELECT ${local.view_column_list} FROM (
        SELECT
            snapshot_time, icao24, callsign, origin_country, time_position, last_contact, longitude, latitude,
            baro_altitude, on_ground, velocity,
            CASE WHEN raw_track < 0 OR raw_track >= 360 THEN raw_track - 360 * floor(raw_track / 360) ELSE raw_track END AS true_track,
            vertical_rate, geo_altitude, squawk, spi, position_source, category,
            coalesce(to_unixtime(last_contact) - to_unixtime(time_position) > ${local.validation.stale_position_s}, false) AS flag_stale_position,
            coalesce(baro_altitude NOT BETWEEN ${local.validation.min_altitude_m} AND ${local.validation.max_altitude_m}, false)
              OR coalesce(geo_altitude NOT BETWEEN ${local.validation.min_altitude_m} AND ${local.validation.max_altitude_m}, false) AS flag_implausible_altitude,
            coalesce(velocity > ${local.validation.max_speed_ms}, false) AS flag_implausible_speed,
            on_ground AND (coalesce(baro_altitude > ${local.validation.max_ground_alt_m}, false)
                           OR coalesce(geo_altitude > ${local.validation.max_ground_alt_m}, false)) AS flag_ground_high_altitude,
            source_key, year, month, day, hour,
            -- duplicate_state: one row per aircraft per snapshot, the first in (source_key, position) order
            row_number() OVER (PARTITION BY snapshot_time, icao24 ORDER BY source_key, row_index) AS occurrence
        FROM (${local.raw_fields_sql})
        WHERE fields >= 13                                                  -- malformed_row
          AND on_ground IS NOT NULL                                         -- wrong_type
          AND regexp_like(icao24, '^[0-9a-f]{6}$')                          -- bad_icao24
          AND last_contact IS NOT NULL                                      -- missing_last_contact
          AND (latitude IS NULL) = (longitude IS NULL)                      -- bad_position
          AND coalesce(latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180, true)
          AND coalesce(position_source BETWEEN 0 AND 3, true)               -- unknown_position_source
          AND coalesce(category BETWEEN 0 AND 20, true)                     -- bad_category
    )
    WHERE occurrence = 1
  SQL

  latest_states_sql = <<-SQL
    WITH recent AS (
        -- the current and the previous UTC hour only (equality on every partition column, for partition pruning)
        SELECT ${local.view_column_list} FROM live_states
        WHERE (year = date_format(current_timestamp AT TIME ZONE 'UTC', '%Y')
               AND month = date_format(current_timestamp AT TIME ZONE 'UTC', '%m')
               AND day = date_format(current_timestamp AT TIME ZONE 'UTC', '%d')
               AND hour = date_format(current_timestamp AT TIME ZONE 'UTC', '%H'))
           OR (year = date_format((current_timestamp - INTERVAL '1' HOUR) AT TIME ZONE 'UTC', '%Y')
               AND month = date_format((current_timestamp - INTERVAL '1' HOUR) AT TIME ZONE 'UTC', '%m')
               AND day = date_format((current_timestamp - INTERVAL '1' HOUR) AT TIME ZONE 'UTC', '%d')
               AND hour = date_format((current_timestamp - INTERVAL '1' HOUR) AT TIME ZONE 'UTC', '%H'))
    )
    SELECT * FROM recent WHERE snapshot_time = (SELECT max(snapshot_time) FROM recent)
  SQL

  views = {
    live_states = {
      description = "Live: validated_states for built hours plus the unbuilt hours validated from raw_states."
      sql         = local.live_states_sql
    }
    latest_states = {
      description = "Live: the validated rows of the newest snapshot (current or previous UTC hour)."
      sql         = local.latest_states_sql
    }
  }
}

resource "aws_glue_catalog_table" "views" {
  for_each      = local.views
  database_name = aws_glue_catalog_database.this.name
  name          = each.key
  description   = each.value.description
  table_type    = "VIRTUAL_VIEW"
  # Athena reads a view's definition from here: the Presto view as base64 JSON.
  view_original_text = "/* Presto View: ${base64encode(jsonencode({
    originalSql = each.value.sql
    catalog     = "awsdatacatalog"
    schema      = aws_glue_catalog_database.this.name
    columns     = [for c in local.view_columns : { name = c.name, type = local.presto_type[c.type] }]
  }))} */"
  view_expanded_text = "/* Presto View */"

  parameters = {
    presto_view = "true"
    comment     = "Presto View"
  }

  storage_descriptor {
    dynamic "columns" {
      for_each = local.view_columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }

  depends_on = [aws_glue_catalog_table.this]
}

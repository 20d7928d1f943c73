# Glue tables over the lake's prefixes, one per layer, with partition projection on the hive-style key layout
# `<prefix>/year=YYYY/month=MM/day=DD/hour=HH/` (flight_assets/layout.py): Athena computes the partitions from the
# query's predicates, so no crawler and no MSCK REPAIR TABLE is ever needed. Column lists mirror the pyarrow
# schemas the pipeline writes (flight_assets/validation.py, flight_assets/aggregation.py); a test compares them.

locals {
  database      = replace(var.name_prefix, "-", "_")
  lake_root     = var.lake_prefix == "" ? "s3://${var.lake_bucket}" : "s3://${var.lake_bucket}/${var.lake_prefix}"
  partition_dir = "year=$${year}/month=$${month}/day=$${day}/hour=$${hour}/"

  projection = {
    "projection.enabled"      = "true"
    "projection.year.type"    = "integer"
    "projection.year.range"   = "${var.projection_years[0]},${var.projection_years[1]}"
    "projection.month.type"   = "integer"
    "projection.month.range"  = "1,12"
    "projection.month.digits" = "2"
    "projection.day.type"     = "integer"
    "projection.day.range"    = "1,31"
    "projection.day.digits"   = "2"
    "projection.hour.type"    = "integer"
    "projection.hour.range"   = "0,23"
    "projection.hour.digits"  = "2"
  }

  parquet = {
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    serde         = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
  }

  json = {
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    serde         = "org.openx.data.jsonserde.JsonSerDe"
  }

  tables = {
    validated_states = {
      prefix      = "validated/states"
      description = "Silver: typed, cleaned state vectors, one row per aircraft per snapshot, with soft quality flags."
      storage     = local.parquet
      serde_parameters = {
        "serialization.format" = "1"
      }
      columns = [
        { name = "snapshot_time", type = "timestamp", comment = "the snapshot's own time (UTC)" },
        { name = "icao24", type = "string", comment = "ICAO 24-bit transponder address, hex" },
        { name = "callsign", type = "string", comment = "callsign, trimmed; null when blank" },
        { name = "origin_country", type = "string", comment = "country inferred from the ICAO address" },
        { name = "time_position", type = "timestamp", comment = "time of the last position update" },
        { name = "last_contact", type = "timestamp", comment = "time of the last message from the transponder" },
        { name = "longitude", type = "double", comment = "WGS-84 degrees" },
        { name = "latitude", type = "double", comment = "WGS-84 degrees" },
        { name = "baro_altitude", type = "double", comment = "barometric altitude, m" },
        { name = "on_ground", type = "boolean", comment = "surface position report" },
        { name = "velocity", type = "double", comment = "ground speed, m/s" },
        { name = "true_track", type = "double", comment = "track, degrees clockwise from north" },
        { name = "vertical_rate", type = "double", comment = "m/s, positive climbing" },
        { name = "geo_altitude", type = "double", comment = "geometric altitude, m" },
        { name = "squawk", type = "string", comment = "transponder code" },
        { name = "spi", type = "boolean", comment = "special purpose indicator" },
        { name = "position_source", type = "tinyint", comment = "0 ADS-B, 1 ASTERIX, 2 MLAT, 3 FLARM" },
        { name = "category", type = "tinyint", comment = "aircraft category (extended responses only)" },
        { name = "flag_stale_position", type = "boolean", comment = "position much older than last contact" },
        { name = "flag_implausible_altitude", type = "boolean", comment = "altitude outside the plausible range" },
        { name = "flag_implausible_speed", type = "boolean", comment = "speed outside the plausible range" },
        { name = "flag_ground_high_altitude", type = "boolean", comment = "on ground but reporting a high altitude" },
        { name = "source_key", type = "string", comment = "raw object the row came from" },
      ]
    }

    quarantined_states = {
      prefix      = "quarantine/states"
      description = "Rows rejected by validation, with the reason; nothing is dropped silently."
      storage     = local.parquet
      serde_parameters = {
        "serialization.format" = "1"
      }
      columns = [
        { name = "snapshot_time", type = "timestamp", comment = "the snapshot's own time (UTC)" },
        { name = "source_key", type = "string", comment = "raw object the row came from" },
        { name = "row_index", type = "int", comment = "position of the row in the snapshot's states array" },
        { name = "reason", type = "string", comment = "reason code" },
        { name = "detail", type = "string", comment = "what exactly was wrong" },
        { name = "raw_row", type = "string", comment = "the row as JSON" },
      ]
    }

    country_aggregates = {
      prefix      = "aggregates/country_hourly"
      description = "Gold: per origin country per UTC hour."
      storage     = local.parquet
      serde_parameters = {
        "serialization.format" = "1"
      }
      columns = [
        { name = "hour_start", type = "timestamp", comment = "start of the UTC hour" },
        { name = "origin_country", type = "string", comment = "origin country" },
        { name = "states", type = "bigint", comment = "validated rows (one per aircraft per snapshot)" },
        { name = "aircraft", type = "bigint", comment = "distinct icao24" },
        { name = "snapshots", type = "bigint", comment = "snapshots in which the country appears" },
        { name = "airborne", type = "bigint", comment = "rows not on the ground" },
        { name = "on_ground", type = "bigint", comment = "rows on the ground" },
        { name = "positioned", type = "bigint", comment = "rows with latitude and longitude" },
        { name = "callsigns", type = "bigint", comment = "distinct non-empty callsigns" },
        { name = "avg_aircraft_per_snapshot", type = "double", comment = "states / snapshots" },
        { name = "avg_baro_altitude_m", type = "double", comment = "airborne rows" },
        { name = "median_baro_altitude_m", type = "double", comment = "airborne rows" },
        { name = "max_baro_altitude_m", type = "double", comment = "airborne rows" },
        { name = "avg_velocity_ms", type = "double", comment = "airborne rows" },
        { name = "max_velocity_ms", type = "double", comment = "airborne rows" },
        { name = "flagged", type = "bigint", comment = "rows carrying any soft quality flag" },
      ]
    }

    # Bronze: the API bodies byte-exact, gzip, one JSON document per object. Each state vector is an array of mixed
    # JSON values, read as strings (s[1] icao24, s[3] origin_country, s[8] baro_altitude ...). Bodies landed from
    # pretty-printed recordings span several lines and are skipped (ignore.malformed.json).
    raw_states = {
      prefix      = "raw/states"
      description = "Bronze: OpenSky /states/all bodies as landed (gzip JSON), one row per snapshot."
      storage     = local.json
      serde_parameters = {
        "ignore.malformed.json" = "true"
      }
      columns = [
        { name = "time", type = "bigint", comment = "the snapshot's time, Unix seconds" },
        { name = "states", type = "array<array<string>>", comment = "state vectors, fields in API order" },
      ]
    }
  }
}

resource "aws_glue_catalog_database" "this" {
  name        = local.database
  description = "flight_assets lake (${local.lake_root})"
}

resource "aws_glue_catalog_table" "this" {
  for_each      = local.tables
  database_name = aws_glue_catalog_database.this.name
  name          = each.key
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(local.projection, {
    "EXTERNAL"                  = "TRUE"
    "classification"            = each.value.storage == local.json ? "json" : "parquet"
    "storage.location.template" = "${local.lake_root}/${each.value.prefix}/${local.partition_dir}"
  })

  dynamic "partition_keys" {
    for_each = ["year", "month", "day", "hour"]
    content {
      name    = partition_keys.value
      type    = "string"
      comment = "partition (projected), zero-padded except year"
    }
  }

  storage_descriptor {
    location      = "${local.lake_root}/${each.value.prefix}/"
    input_format  = each.value.storage.input_format
    output_format = each.value.storage.output_format
    compressed    = each.value.storage == local.json

    ser_de_info {
      name                  = each.key
      serialization_library = each.value.storage.serde
      parameters            = each.value.serde_parameters
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}

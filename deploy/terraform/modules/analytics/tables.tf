# Glue tables over the lake's prefixes, one per layer, with partition projection on the hive-style key layout
# `<prefix>/year=YYYY/month=MM/day=DD/hour=HH/` (flight_assets/lake/layout.py): Athena computes the partitions from
# the query's predicates, so no crawler and no MSCK REPAIR TABLE is ever needed. Columns come from the lake contract
# (deploy/terraform/lake_contract.json), generated from the pyarrow schemas the pipeline writes.

locals {
  database  = replace(var.name_prefix, "-", "_")
  lake_root = var.lake_prefix == "" ? "s3://${var.lake_bucket}" : "s3://${var.lake_bucket}/${var.lake_prefix}"
  # deploy/terraform/lake_contract.json, written by `python deploy/lake_contract.py` from flight_assets/lake/layout.py
  # and the pipeline's pyarrow schemas (a fast test keeps it current): table columns, prefixes, partition layout.
  contract      = jsondecode(file("${path.module}/../../lake_contract.json"))
  partition_dir = local.contract.partition_template

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

  # Per storage format: input/output format, SerDe and its parameters. Bodies landed from pretty-printed recordings
  # span several lines and are skipped (ignore.malformed.json).
  formats = {
    parquet = { storage = local.parquet, serde_parameters = tomap({ "serialization.format" = "1" }) }
    json    = { storage = local.json, serde_parameters = tomap({ "ignore.malformed.json" = "true" }) }
  }

  descriptions = {
    validated_states   = "Silver: typed, cleaned state vectors, one row per aircraft per snapshot, with soft quality flags."
    quarantined_states = "Rows rejected by validation, with the reason; nothing is dropped silently."
    country_aggregates = "Gold: per origin country per UTC hour."
    # Bronze: the API bodies byte-exact, gzip, one JSON document per object. Each state vector is an array of mixed
    # JSON values, read as strings (s[1] icao24, s[3] origin_country, s[8] baro_altitude ...).
    raw_states = "Bronze: OpenSky /states/all bodies as landed (gzip JSON), one row per snapshot."
  }

  # Prefix, format and columns (names and Hive types) from the lake contract, generated from the Python schemas.
  tables = {
    for name, table in local.contract.tables : name => {
      prefix           = table.prefix
      description      = local.descriptions[name]
      storage          = local.formats[table.format].storage
      serde_parameters = local.formats[table.format].serde_parameters
      columns          = table.columns
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
    for_each = local.contract.partition_keys
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

output "database" {
  description = "Glue database of the lake's tables."
  value       = aws_glue_catalog_database.this.name
}

output "tables" {
  description = "Glue tables: validated_states, quarantined_states, country_aggregates, raw_states."
  value       = sort(keys(aws_glue_catalog_table.this))
}

output "workgroup" {
  description = "Athena workgroup (encrypted results, bytes-scanned limit)."
  value       = aws_athena_workgroup.this.name
}

output "named_query_ids" {
  description = "IDs of the saved example queries."
  value       = { for name in keys(local.example_queries) : name => try(aws_athena_named_query.this[name].id, null) }
}

output "views" {
  description = "Athena views: live_states (built hours + unbuilt hours validated from raw), latest_states."
  value       = sort(keys(aws_glue_catalog_table.views))
}

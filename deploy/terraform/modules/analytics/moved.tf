# Addresses from before the example queries were one resource (for_each): a deployment made with the old addresses
# keeps its saved queries.

moved {
  from = aws_athena_named_query.states_by_country_for_a_day[0]
  to   = aws_athena_named_query.this["states_by_country_for_a_day"]
}

moved {
  from = aws_athena_named_query.altitude_bands[0]
  to   = aws_athena_named_query.this["altitude_bands"]
}

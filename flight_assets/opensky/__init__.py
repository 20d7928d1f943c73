"""The source: OpenSky's `/states/all` client, credit arithmetic per tier, the credit governor, what a
response body is, recorded responses. No Dagster import.
"""

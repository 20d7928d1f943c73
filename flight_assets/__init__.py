"""flight_assets: OpenSky state vectors into an hourly, quality-checked data lake, assembled by Dagster."""

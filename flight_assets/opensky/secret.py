"""OpenSky credentials from AWS Secrets Manager (OPENSKY_SECRET_ARN), read at run time.

Shared by the Lambda handler and Dagster's OpenSkyResource, so both tiers that share `_state/` (the credit
governor) poll with the same credentials. Pure: boto3 only, imported lazily; no Dagster, no pyarrow.
"""

from __future__ import annotations

from collections.abc import Mapping

from flight_assets.config import ConfigError, Settings, credentials_from_secret, load_settings


def secret_string(arn: str, env: Mapping[str, str]) -> str | None:
    """The secret's SecretString; ConfigError naming the secret when Secrets Manager cannot give it."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("secretsmanager", endpoint_url=env.get("AWS_ENDPOINT_URL") or None)
    try:
        return client.get_secret_value(SecretId=arn).get("SecretString")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        if code == "ResourceNotFoundException":
            raise ConfigError(f"OPENSKY_SECRET_ARN={arn}: Secrets Manager has no such secret") from None
        raise ConfigError(f"could not read the secret OPENSKY_SECRET_ARN={arn}: {code}") from None
    except BotoCoreError as exc:
        raise ConfigError(f"could not read the secret OPENSKY_SECRET_ARN={arn}: {exc}") from None


def env_with_secret(env: Mapping[str, str]) -> dict[str, str]:
    """The environment plus OPENSKY_CLIENT_ID/SECRET from the secret when OPENSKY_SECRET_ARN is set and no client
    id is given explicitly; unchanged otherwise."""
    out = dict(env)
    arn = out.get("OPENSKY_SECRET_ARN", "").strip()
    if arn and not out.get("OPENSKY_CLIENT_ID"):
        out.update(credentials_from_secret(secret_string(arn, out), arn))
    return out


def settings_with_secret(env: Mapping[str, str]) -> Settings:
    """Settings from the environment; OpenSky credentials from Secrets Manager when OPENSKY_SECRET_ARN is set."""
    return load_settings(env_with_secret(env))

"""Build the ingestion Lambda package: `build/lambda.zip` (`make lambda-zip`).

The package holds exactly what `flight_assets.lambda_handler` imports: the project modules of its import closure
(found by reading their `import` statements, so a new dependency of the handler is picked up, and one that drags in
Dagster or pyarrow fails the build) plus the pinned `deploy/lambda_requirements.txt`: `requests`, boto3/botocore,
isal (ISA-L deflate for the raw objects) and msgspec (the body check) with their dependencies, installed by pip as
wheels for the Lambda platform (python3.13, arm64). boto3 is bundled rather than taken from the runtime, because
conditional writes (`If-None-Match` / `If-Match`) need a recent botocore; in the package (first on the function's
sys.path) it shadows the runtime's copy. botocore's API models are trimmed to the services the handler calls
(BOTOCORE_SERVICES), which keeps the zip small.

    python deploy/build_lambda.py [--output build/lambda.zip] [--platform manylinux2014_aarch64] [--python-version 3.13]

Prints the modules, the packages and the size of the zip. The zip is reproducible: fixed timestamps, sorted entries.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "flight_assets"
HANDLER_MODULE = "flight_assets.lambda_handler"
REQUIREMENTS = REPO / "deploy" / "lambda_requirements.txt"
# The image's lock (deploy/lock.py) as a constraint: boto3 and requests must be the versions the image runs.
CONSTRAINTS = REPO / "deploy" / "constraints.txt"
DEFAULT_OUTPUT = REPO / "build" / "lambda.zip"
# Third-party imports the handler may make, all packaged from lambda_requirements.txt.
PACKAGED = {"requests", "urllib3", "idna", "certifi", "charset_normalizer", "boto3", "botocore", "isal",
            "msgspec"}
# The AWS APIs the handler calls (the lake and the credit governor: s3; the OpenSky credentials: secretsmanager; sts
# for credential providers that assume a role). botocore's models of every other service are left out.
BOTOCORE_SERVICES = {"s3", "secretsmanager", "sts"}
LAMBDA_PYTHON = "3.13"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class BuildError(RuntimeError):
    pass


def _stdlib_modules() -> set[str]:
    return set(sys.stdlib_module_names)


def _module_path(module: str) -> Path | None:
    parts = module.split(".")
    base = REPO.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """Absolute module names imported anywhere in the file (top level and inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            # `from flight_assets import x` may import the submodule x
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def handler_closure() -> tuple[list[str], set[str]]:
    """(project modules the handler needs, top-level third-party packages they import)."""
    stdlib = _stdlib_modules()
    seen: set[str] = set()
    third_party: set[str] = set()
    todo = [PACKAGE, HANDLER_MODULE]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = _module_path(module)
        if path is None:
            continue  # `from flight_assets.x import name` where name is not a module
        seen.add(module)
        for name in _imports(path, module):
            top = name.split(".")[0]
            if top == PACKAGE:
                todo.append(name)
                # importing a.b.c runs a/__init__ and a/b/__init__ too
                parts = name.split(".")
                todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
            elif top and top not in stdlib and top != "__future__":
                third_party.add(top)
    unexpected = third_party - PACKAGED
    if unexpected:
        raise BuildError(
            f"{HANDLER_MODULE} now imports {', '.join(sorted(unexpected))}: the Lambda package takes only "
            f"{', '.join(sorted(PACKAGED))}. Keep the handler's import chain to the pure modules."
        )
    return sorted(seen), third_party


def pip_install(target: Path, platform: str, python_version: str) -> None:
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), "--requirement", str(REQUIREMENTS), "--constraint", str(CONSTRAINTS),
        "--platform", platform, "--only-binary=:all:", "--python-version", python_version, "--implementation", "cp",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"pip could not install {REQUIREMENTS.name} for {platform}:\n{result.stderr.strip()}")


def _unused_model(rel: Path) -> bool:
    """True for an API model of a service the handler never calls (botocore/data/<service>/, boto3/data/<service>/)."""
    parts = rel.parts
    return (len(parts) > 3 and parts[0] in ("botocore", "boto3") and parts[1] == "data"
            and parts[2] not in BOTOCORE_SERVICES)


def _add(archive: zipfile.ZipFile, path: Path, arcname: str) -> None:
    info = zipfile.ZipInfo(arcname, date_time=ZIP_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, path.read_bytes(), compresslevel=9)


def build(output: Path, platform: str, python_version: str) -> dict[str, object]:
    modules, _ = handler_closure()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lambda-deps-") as tmp:
        deps = Path(tmp)
        pip_install(deps, platform, python_version)
        entries: dict[str, Path] = {}
        for path in deps.rglob("*"):
            rel = path.relative_to(deps)
            if path.is_dir() or rel.parts[0] == "bin" or "__pycache__" in rel.parts or _unused_model(rel):
                continue
            entries[rel.as_posix()] = path
        packages = sorted(p.name.split("-")[0] for p in deps.glob("*.dist-info"))
        for module in modules:
            path = _module_path(module)
            assert path is not None
            entries[path.relative_to(REPO).as_posix()] = path
        partial = output.with_name(output.name + ".partial")
        with zipfile.ZipFile(partial, "w") as archive:
            for arcname in sorted(entries):
                _add(archive, entries[arcname], arcname)
        os.replace(partial, output)
    return {"modules": modules, "packages": packages, "bytes": output.stat().st_size, "files": len(entries)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--platform", default=LAMBDA_PLATFORM, help="pip --platform (Lambda arm64)")
    parser.add_argument("--python-version", default=LAMBDA_PYTHON, help="pip --python-version (Lambda runtime python3.13)")
    args = parser.parse_args(argv)
    try:
        report = build(args.output.resolve(), args.platform, args.python_version)
    except BuildError as exc:
        print(f"lambda-zip: {exc}", file=sys.stderr)
        return 1
    size = int(report["bytes"])  # type: ignore[call-overload]
    print(f"modules:  {', '.join(report['modules'])}")  # type: ignore[arg-type]
    print(f"packages: {', '.join(report['packages'])}")  # type: ignore[arg-type]
    print(f"wrote {args.output} ({report['files']} files): {size:,} bytes ({size / 1_048_576:.2f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

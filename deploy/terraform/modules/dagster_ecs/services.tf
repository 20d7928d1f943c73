# The three long-running services. Each task definition uses the same image and environment with its own command
# and task role. The image has no ENTRYPOINT, so the command EcsRunLauncher sends to run tasks runs as given.
# The code server's task runs both code locations (deploy/workspace.yaml): flight_assets, and beside it the poller's
# (flight_assets/poll_definitions.py), a second container with the same image and role on its own port.

locals {
  services = {
    # Behind the load balancer; deploys start the new task before stopping the old one.
    webserver = {
      command = ["dagster-webserver", "--host", "0.0.0.0", "--port", tostring(local.web_port), "--workspace", "${local.dagster_home}/workspace.yaml"]
      port    = local.web_port
      role    = aws_iam_role.this["webserver"].arn
      env     = {}
      health  = null # the load balancer checks /server_info
      deploy  = { min_percent = 100, max_percent = 200 }
    }
    # Exactly one daemon may run: stop the old task before starting the new one on deploys.
    daemon = {
      command = ["dagster-daemon", "run", "--workspace", "${local.dagster_home}/workspace.yaml"]
      port    = null
      role    = aws_iam_role.this["daemon"].arn
      env     = {}
      health  = ["CMD", "dagster-daemon", "liveness-check"]
      deploy  = { min_percent = 0, max_percent = 100 }
    }
    # One code version behind the Cloud Map name at a time (as in Dagster's ECS example): stop the old code server
    # before the new one starts, so the webserver and daemon never load two versions of the definitions under one
    # location.
    code = {
      command = ["dagster", "api", "grpc", "--host", "0.0.0.0", "--port", tostring(local.code_port), "--module-name", "flight_assets.definitions", "--location-name", "flight_assets"]
      port    = local.code_port
      role    = aws_iam_role.this["code"].arn
      # EcsRunLauncher starts each run with the image of the code location that defines the job.
      env    = { DAGSTER_CURRENT_IMAGE = local.image }
      health = ["CMD", "dagster", "api", "grpc-health-check", "--port", tostring(local.code_port)]
      deploy = { min_percent = 0, max_percent = 100 }
    }
  }
  # The order the services are listed in (outputs, the dashboard).
  service_order = ["webserver", "daemon", "code"]

  # The second container of the code server's task: the poller's code location (ingest_snapshot_job and its sensor).
  poller_container = {
    name    = "poller"
    command = ["dagster", "api", "grpc", "--host", "0.0.0.0", "--port", tostring(local.poller_port), "--module-name", "flight_assets.poll_definitions", "--location-name", "flight_assets_poller"]
    port    = local.poller_port
    health  = ["CMD", "dagster", "api", "grpc-health-check", "--port", tostring(local.poller_port)]
  }
  # Each task's containers: its service's own, then (code only) the poller.
  containers = {
    for name, service in local.services : name => concat(
      [{ name = name, command = service.command, port = service.port, health = service.health }],
      name == "code" ? [local.poller_container] : [],
    )
  }

  secrets = [{ name = "DAGSTER_PG_PASSWORD", valueFrom = local.db_password_value_from }]

  # Container health checks. The image carries compiled bytecode (deploy/Dockerfile), so `dagster-daemon
  # liveness-check` and `dagster api grpc-health-check` start in a few seconds even on half a vCPU; 30 s leaves
  # headroom for a busy task (flight_assets_tests/test_image_health.py times both against an image-like install).
  health_check = { interval = 60, timeout = 30, retries = 3, startPeriod = 180 }
}

resource "aws_ecs_task_definition" "this" {
  #checkov:skip=CKV_AWS_336:Dagster writes to DAGSTER_HOME (instance state, compute-log staging) and to temp files at run time; a read-only root file system breaks the webserver, the daemon and the runs.
  for_each                 = { for name, service in local.services : name => service if local.create_services }
  family                   = "${var.name_prefix}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_sizes[each.key].cpu
  memory                   = var.task_sizes[each.key].memory
  execution_role_arn       = aws_iam_role.this["execution"].arn
  task_role_arn            = each.value.role

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([for container in local.containers[each.key] : {
    name         = container.name
    image        = local.image
    essential    = true
    command      = container.command
    environment  = [for k, v in merge(local.environment, each.value.env) : { name = k, value = v }]
    secrets      = local.secrets
    portMappings = container.port == null ? [] : [{ containerPort = container.port, protocol = "tcp" }]
    healthCheck  = container.health == null ? null : merge(local.health_check, { command = container.health })
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this[each.key].name
        awslogs-region        = local.region
        awslogs-stream-prefix = container.name
      }
    }
  }])

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  for_each                           = aws_ecs_task_definition.this
  name                               = each.key
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = each.value.arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  health_check_grace_period_seconds  = each.key == "webserver" ? 120 : null
  deployment_minimum_healthy_percent = local.services[each.key].deploy.min_percent
  deployment_maximum_percent         = local.services[each.key].deploy.max_percent

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.this["tasks"].id]
    assign_public_ip = false
  }

  # The webserver behind the load balancer.
  dynamic "load_balancer" {
    for_each = each.key == "webserver" ? [local.web_port] : []
    content {
      target_group_arn = aws_lb_target_group.webserver.arn
      container_name   = each.key
      container_port   = load_balancer.value
    }
  }

  # The code server under its Cloud Map name (DAGSTER_CODE_SERVER_HOST).
  dynamic "service_registries" {
    for_each = each.key == "code" ? [aws_service_discovery_service.code.arn] : []
    content {
      registry_arn = service_registries.value
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener.http, aws_lb_listener.https]
  tags       = var.tags
}

# Security groups: the load balancer admits only the allow-listed CIDRs; the tasks admit the load balancer (UI) and
# each other (gRPC to the code server); the database admits the tasks. Egress is limited to HTTPS (AWS APIs through
# the NAT gateway / S3 endpoint, OpenSky) and to the VPC's own gRPC and PostgreSQL ports.

resource "aws_security_group" "this" {
  for_each = {
    alb   = { name = "${var.name_prefix}-alb", description = "Dagster UI load balancer: allow-listed clients only" }
    tasks = { name = "${var.name_prefix}-dagster-tasks", description = "Dagster webserver, daemon, code server and run tasks" }
    db    = { name = "${var.name_prefix}-dagster-db", description = "Dagster PostgreSQL: from the Dagster tasks only" }
  }
  name        = each.value.name
  description = each.value.description
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = each.value.name })
}

resource "aws_security_group_rule" "alb_in" {
  for_each          = toset(length(var.webserver_allowed_cidrs) == 0 ? [] : (var.certificate_arn == null ? ["80"] : ["80", "443"]))
  security_group_id = aws_security_group.this["alb"].id
  type              = "ingress"
  description       = "Allow-listed clients to the Dagster UI on ${each.value}"
  protocol          = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_blocks       = var.webserver_allowed_cidrs
}

# Every other rule: the group it belongs to, and its peer, either another group (peer) or CIDR blocks (cidrs). The maps
# are written inline (not locals) so that checkov expands them and checks each group and rule.
resource "aws_security_group_rule" "this" {
  for_each = {
    alb_to_webserver = { group = "alb", type = "egress", protocol = "tcp", port = local.web_port, peer = "tasks", description = "Load balancer to the webserver tasks" }
    tasks_from_alb   = { group = "tasks", type = "ingress", protocol = "tcp", port = local.web_port, peer = "alb", description = "Load balancer to the webserver" }
    tasks_grpc_in    = { group = "tasks", type = "ingress", protocol = "tcp", port = local.code_port, peer = "tasks", description = "Webserver, daemon and runs to the code server gRPC port" }
    tasks_grpc_out   = { group = "tasks", type = "egress", protocol = "tcp", port = local.code_port, peer = "tasks", description = "To the code server gRPC port" }
    poller_grpc_in   = { group = "tasks", type = "ingress", protocol = "tcp", port = local.poller_port, peer = "tasks", description = "Webserver, daemon and runs to the poller gRPC port" }
    poller_grpc_out  = { group = "tasks", type = "egress", protocol = "tcp", port = local.poller_port, peer = "tasks", description = "To the poller gRPC port" }
    tasks_db_out     = { group = "tasks", type = "egress", protocol = "tcp", port = 5432, peer = "db", description = "To the Dagster PostgreSQL storage" }
    tasks_https_out  = { group = "tasks", type = "egress", protocol = "tcp", port = 443, cidrs = ["0.0.0.0/0"], description = "HTTPS to AWS APIs (ECR, S3, logs, ECS, SNS) and OpenSky" }
    tasks_dns_out    = { group = "tasks", type = "egress", protocol = "udp", port = 53, cidrs = [var.vpc_cidr_block], description = "DNS to the VPC resolver (Cloud Map name of the code server)" }
    db_in            = { group = "db", type = "ingress", protocol = "tcp", port = 5432, peer = "tasks", description = "Dagster tasks to PostgreSQL" }
  }
  security_group_id        = aws_security_group.this[each.value.group].id
  type                     = each.value.type
  description              = each.value.description
  protocol                 = each.value.protocol
  from_port                = each.value.port
  to_port                  = each.value.port
  source_security_group_id = lookup(each.value, "peer", null) == null ? null : aws_security_group.this[each.value.peer].id
  cidr_blocks              = lookup(each.value, "cidrs", null)
}

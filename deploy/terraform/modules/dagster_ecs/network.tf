# Security groups: the load balancer admits only the allow-listed CIDRs; the tasks admit the load balancer (UI) and
# each other (gRPC to the code server); the database admits the tasks. Egress is limited to HTTPS (AWS APIs through
# the NAT gateway / S3 endpoint, OpenSky) and to the VPC's own gRPC and PostgreSQL ports.

resource "aws_security_group" "alb" {
  name        = "${var.name_prefix}-alb"
  description = "Dagster UI load balancer: allow-listed clients only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name_prefix}-alb" })
}

resource "aws_security_group_rule" "alb_in" {
  for_each          = toset(length(var.webserver_allowed_cidrs) == 0 ? [] : (var.certificate_arn == null ? ["80"] : ["80", "443"]))
  security_group_id = aws_security_group.alb.id
  type              = "ingress"
  description       = "Allow-listed clients to the Dagster UI on ${each.value}"
  protocol          = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_blocks       = var.webserver_allowed_cidrs
}

resource "aws_security_group_rule" "alb_to_webserver" {
  security_group_id        = aws_security_group.alb.id
  type                     = "egress"
  description              = "Load balancer to the webserver tasks"
  protocol                 = "tcp"
  from_port                = local.web_port
  to_port                  = local.web_port
  source_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group" "tasks" {
  name        = "${var.name_prefix}-dagster-tasks"
  description = "Dagster webserver, daemon, code server and run tasks"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name_prefix}-dagster-tasks" })
}

resource "aws_security_group_rule" "tasks_from_alb" {
  security_group_id        = aws_security_group.tasks.id
  type                     = "ingress"
  description              = "Load balancer to the webserver"
  protocol                 = "tcp"
  from_port                = local.web_port
  to_port                  = local.web_port
  source_security_group_id = aws_security_group.alb.id
}

resource "aws_security_group_rule" "tasks_grpc_in" {
  security_group_id        = aws_security_group.tasks.id
  type                     = "ingress"
  description              = "Webserver, daemon and runs to the code server gRPC port"
  protocol                 = "tcp"
  from_port                = local.code_port
  to_port                  = local.code_port
  source_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group_rule" "tasks_grpc_out" {
  security_group_id        = aws_security_group.tasks.id
  type                     = "egress"
  description              = "To the code server gRPC port"
  protocol                 = "tcp"
  from_port                = local.code_port
  to_port                  = local.code_port
  source_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group_rule" "tasks_db_out" {
  security_group_id        = aws_security_group.tasks.id
  type                     = "egress"
  description              = "To the Dagster PostgreSQL storage"
  protocol                 = "tcp"
  from_port                = 5432
  to_port                  = 5432
  source_security_group_id = aws_security_group.db.id
}

resource "aws_security_group_rule" "tasks_https_out" {
  security_group_id = aws_security_group.tasks.id
  type              = "egress"
  description       = "HTTPS to AWS APIs (ECR, S3, logs, ECS, SNS) and OpenSky"
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group_rule" "tasks_dns_out" {
  security_group_id = aws_security_group.tasks.id
  type              = "egress"
  description       = "DNS to the VPC resolver (Cloud Map name of the code server)"
  protocol          = "udp"
  from_port         = 53
  to_port           = 53
  cidr_blocks       = [var.vpc_cidr_block]
}

resource "aws_security_group" "db" {
  name        = "${var.name_prefix}-dagster-db"
  description = "Dagster PostgreSQL: from the Dagster tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name_prefix}-dagster-db" })
}

resource "aws_security_group_rule" "db_in" {
  security_group_id        = aws_security_group.db.id
  type                     = "ingress"
  description              = "Dagster tasks to PostgreSQL"
  protocol                 = "tcp"
  from_port                = 5432
  to_port                  = 5432
  source_security_group_id = aws_security_group.tasks.id
}

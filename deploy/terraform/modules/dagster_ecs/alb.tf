# The Dagster UI behind an application load balancer. Dagster's webserver has no login: the load balancer admits only
# webserver_allowed_cidrs (none by default) and is internal unless alb_internet_facing is set. With certificate_arn
# (required when internet-facing, see variables.tf): HTTPS on 443, port 80 only redirects, and the UI's URL is
# https://<webserver_domain_name> (an alias record in route53_zone_id when given). Without a certificate, plain HTTP
# on 80, for an internal load balancer reached from allow-listed (VPN/peered) networks only.

resource "aws_lb" "webserver" {
  #checkov:skip=CKV2_AWS_28:The UI is reachable only from allow-listed CIDRs (none by default); a WAF web ACL (from 5 USD/month plus rules) can be associated where it is exposed more widely.
  name                       = substr("${var.name_prefix}-dagster", 0, 32)
  internal                   = !var.alb_internet_facing
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.this["alb"].id]
  subnets                    = var.alb_internet_facing ? var.public_subnet_ids : var.private_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
  idle_timeout               = 120

  access_logs {
    bucket  = var.access_logs_bucket
    prefix  = "alb"
    enabled = true
  }

  tags = var.tags
}

resource "aws_lb_target_group" "webserver" {
  #checkov:skip=CKV_AWS_378:dagster-webserver serves plain HTTP only; the hop from the load balancer to the task stays inside the VPC between two security groups, and clients get TLS at the listener when certificate_arn is set.
  name                 = substr("${var.name_prefix}-webserver", 0, 32)
  port                 = local.web_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = "/server_info"
    matcher             = "200"
    interval            = 30
    healthy_threshold   = 2
    unhealthy_threshold = 5
  }

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count             = var.certificate_arn == null ? 0 : 1
  load_balancer_arn = aws_lb.webserver.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.webserver.arn
  }

  tags = var.tags
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Plain HTTP is served only without certificate_arn, by an internal load balancer to allow-listed networks (an internet-facing one requires a certificate); with a certificate this listener only redirects to HTTPS.
  #checkov:skip=CKV_AWS_103:TLS applies to the HTTPS listener (TLS 1.2+ policy), created with certificate_arn.
  #checkov:skip=CKV2_AWS_20:The redirect to HTTPS is in place whenever certificate_arn is set; without one there is no HTTPS to redirect to.
  load_balancer_arn = aws_lb.webserver.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = var.certificate_arn == null ? "forward" : "redirect"
    target_group_arn = var.certificate_arn == null ? aws_lb_target_group.webserver.arn : null

    dynamic "redirect" {
      for_each = var.certificate_arn == null ? [] : [1]
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }

  tags = var.tags
}

# The name on the certificate, pointed at the load balancer (optional: route53_zone_id).
resource "aws_route53_record" "webserver" {
  count   = var.route53_zone_id == null ? 0 : 1
  zone_id = var.route53_zone_id
  name    = var.webserver_domain_name
  type    = "A"

  alias {
    name                   = aws_lb.webserver.dns_name
    zone_id                = aws_lb.webserver.zone_id
    evaluate_target_health = true
  }
}

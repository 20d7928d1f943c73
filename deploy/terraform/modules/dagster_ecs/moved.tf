# Addresses from before the roles, services, security groups and their rules were declared once each (for_each):
# a deployment made with the old addresses keeps its resources (nothing is destroyed and re-created).

moved {
  from = aws_iam_role.execution
  to   = aws_iam_role.this["execution"]
}

moved {
  from = aws_iam_role_policy.execution
  to   = aws_iam_role_policy.this["execution"]
}

moved {
  from = aws_iam_role.webserver
  to   = aws_iam_role.this["webserver"]
}

moved {
  from = aws_iam_role_policy.webserver
  to   = aws_iam_role_policy.this["webserver"]
}

moved {
  from = aws_iam_role.daemon
  to   = aws_iam_role.this["daemon"]
}

moved {
  from = aws_iam_role_policy.daemon
  to   = aws_iam_role_policy.this["daemon"]
}

moved {
  from = aws_iam_role.code
  to   = aws_iam_role.this["code"]
}

moved {
  from = aws_iam_role_policy.code
  to   = aws_iam_role_policy.this["code"]
}

moved {
  from = aws_iam_role.run
  to   = aws_iam_role.this["run"]
}

moved {
  from = aws_iam_role_policy.run
  to   = aws_iam_role_policy.this["run"]
}

moved {
  from = aws_ecs_service.webserver[0]
  to   = aws_ecs_service.this["webserver"]
}

moved {
  from = aws_ecs_service.daemon[0]
  to   = aws_ecs_service.this["daemon"]
}

moved {
  from = aws_ecs_service.code[0]
  to   = aws_ecs_service.this["code"]
}

moved {
  from = aws_security_group.alb
  to   = aws_security_group.this["alb"]
}

moved {
  from = aws_security_group.tasks
  to   = aws_security_group.this["tasks"]
}

moved {
  from = aws_security_group.db
  to   = aws_security_group.this["db"]
}

moved {
  from = aws_security_group_rule.alb_to_webserver
  to   = aws_security_group_rule.this["alb_to_webserver"]
}

moved {
  from = aws_security_group_rule.tasks_from_alb
  to   = aws_security_group_rule.this["tasks_from_alb"]
}

moved {
  from = aws_security_group_rule.tasks_grpc_in
  to   = aws_security_group_rule.this["tasks_grpc_in"]
}

moved {
  from = aws_security_group_rule.tasks_grpc_out
  to   = aws_security_group_rule.this["tasks_grpc_out"]
}

moved {
  from = aws_security_group_rule.tasks_db_out
  to   = aws_security_group_rule.this["tasks_db_out"]
}

moved {
  from = aws_security_group_rule.tasks_https_out
  to   = aws_security_group_rule.this["tasks_https_out"]
}

moved {
  from = aws_security_group_rule.tasks_dns_out
  to   = aws_security_group_rule.this["tasks_dns_out"]
}

moved {
  from = aws_security_group_rule.db_in
  to   = aws_security_group_rule.this["db_in"]
}

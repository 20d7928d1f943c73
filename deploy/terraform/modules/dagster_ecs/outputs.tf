output "ecr_repository_url" {
  description = "Push the image here: <url>:<image_tag>."
  value       = aws_ecr_repository.this.repository_url
}

output "image" {
  description = "The image every task runs (null while image_tag is unset)."
  value       = local.image
}

output "cluster_name" {
  description = "ECS cluster of the services and run tasks."
  value       = aws_ecs_cluster.this.name
}

output "service_names" {
  description = "ECS services (empty while image_tag is unset)."
  value       = [for name in local.service_order : aws_ecs_service.this[name].name if local.create_services]
}

output "webserver_url" {
  description = "The Dagster UI (reachable only from webserver_allowed_cidrs): https://<webserver_domain_name> with a certificate, else http://<internal load balancer>."
  value       = var.certificate_arn == null ? "http://${aws_lb.webserver.dns_name}" : "https://${var.webserver_domain_name}"
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch dimension)."
  value       = aws_lb.webserver.arn_suffix
}

output "db_instance_identifier" {
  description = "RDS instance of Dagster's storage."
  value       = aws_db_instance.this.identifier
}

output "db_secret_arn" {
  description = "RDS-managed Secrets Manager secret with the database password."
  value       = local.db_secret_arn
}

output "code_server_host" {
  description = "DNS name of the code-location gRPC server (DAGSTER_CODE_SERVER_HOST)."
  value       = local.code_host
}

output "environment" {
  description = "Environment every Dagster container gets (no secrets)."
  value       = local.environment
}

output "run_task_role_arn" {
  description = "Task role of run tasks."
  value       = aws_iam_role.this["run"].arn
}

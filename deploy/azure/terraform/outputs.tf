output "tenant_id" {
  description = "Directory (tenant) id: rampart's tenant id."
  value       = data.azuread_client_config.current.tenant_id
}

output "client_id" {
  description = "Application (client) id of the scanner app registration."
  value       = azuread_application.rampart.client_id
}

output "client_secret" {
  description = "The scanner's client secret. Read it with `terraform output -raw client_secret` and store it in Rampart's vault; never commit it."
  value       = azuread_application_password.rampart.value
  sensitive   = true
}

output "client_secret_expires" {
  description = "When the client secret expires (RFC 3339)."
  value       = azuread_application_password.rampart.end_date
}

output "scopes" {
  description = "Scopes on which Reader and Security Reader were granted."
  value       = local.scopes
}

output "graph_permissions" {
  description = "Microsoft Graph application permissions granted (admin consent given)."
  value       = local.graph_permissions
}

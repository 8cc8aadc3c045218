output "service_account_email" {
  description = "The scanner's service account."
  value       = google_service_account.scanner.email
}

output "scope" {
  description = "The scan scope to give Rampart (projects/ID, folders/N or organizations/N)."
  value       = local.scope
}

output "private_key_json" {
  description = "The key file (JSON, base64-encoded as the provider returns it), when create_key = true."
  value       = var.create_key ? google_service_account_key.scanner[0].private_key : null
  sensitive   = true
}

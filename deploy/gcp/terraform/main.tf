# Read-only service account for Rampart (cloud security posture scanning) on Google Cloud.
# Viewer, Security Reviewer and Cloud Asset Viewer at the project, folder or organization that
# Rampart scans; the Cloud Asset API enabled in the service account's project; optionally a key.
#
#   terraform init && terraform apply -var project_id=acme-security \
#     -var scan_level=organization -var organization_id=123456789012 -var create_key=true
#   terraform output -raw private_key_json > rampart-scanner.json   # base64-decoded below
#
# See README.md.

terraform {
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0"
    }
  }
}

locals {
  # The roles Rampart's collector needs (docs/gcp.md); crates/gcp/tests/terraform.rs checks them.
  scanner_roles = concat([
    "roles/viewer",
    "roles/iam.securityReviewer",
    "roles/cloudasset.viewer",
  ], var.extra_roles)
  scan_project = coalesce(var.scan_project_id, var.project_id)
  member       = "serviceAccount:${google_service_account.scanner.email}"
  scope = (
    var.scan_level == "organization" ? "organizations/${var.organization_id}" :
    var.scan_level == "folder" ? "folders/${var.folder_id}" :
    "projects/${local.scan_project}"
  )
}

resource "google_project_service" "apis" {
  for_each           = toset(var.enable_apis)
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_service_account" "scanner" {
  project      = var.project_id
  account_id   = var.account_id
  display_name = "Rampart scanner (read-only)"
  description  = "Reads Cloud Asset Inventory and security settings for Rampart posture scans."
}

resource "google_project_iam_member" "scanner" {
  for_each = var.scan_level == "project" ? toset(local.scanner_roles) : toset([])
  project  = local.scan_project
  role     = each.value
  member   = local.member
}

resource "google_folder_iam_member" "scanner" {
  for_each = var.scan_level == "folder" ? toset(local.scanner_roles) : toset([])
  folder   = "folders/${var.folder_id}"
  role     = each.value
  member   = local.member
}

resource "google_organization_iam_member" "scanner" {
  for_each = var.scan_level == "organization" ? toset(local.scanner_roles) : toset([])
  org_id   = var.organization_id
  role     = each.value
  member   = local.member
}

resource "google_service_account_key" "scanner" {
  count              = var.create_key ? 1 : 0
  service_account_id = google_service_account.scanner.name
  key_algorithm      = "KEY_ALG_RSA_2048"
  private_key_type   = "TYPE_GOOGLE_CREDENTIALS_FILE"
}

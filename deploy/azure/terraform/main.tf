# Read-only identity for Rampart's live Azure collector (crates/azure): an app registration and its
# service principal, with
#   * Reader and Security Reader on the chosen subscriptions and/or management group
#     (Azure Resource Graph, the ARM reads, Defender for Cloud settings), and
#   * the Microsoft Graph application permissions the collector reads Entra ID with, admin
#     consent included (app role assignments on the Microsoft Graph service principal).
# Nothing here can change a resource. The client secret is an output marked sensitive.
#
#   terraform init && terraform apply -var 'subscription_ids=["00000000-…"]'
#   terraform output -raw client_secret   # give it to Rampart, then keep it out of shell history
#
# Who runs it needs: Owner or User Access Administrator on the scopes (role assignments), and an
# Entra role that can grant application permissions (Privileged Role Administrator or Global
# Administrator).

terraform {
  required_version = ">= 1.3"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.0"
    }
    azuread = {
      source  = "hashicorp/azuread"
      version = ">= 3.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.9"
    }
  }
}

provider "azurerm" {
  features {}
  subscription_id = try(coalesce(var.provider_subscription_id, try(var.subscription_ids[0], null)), null)
}

provider "azuread" {}

locals {
  # Keep in step with rampart_azure::ARM_ROLES and rampart_azure::GRAPH_PERMISSIONS (a test
  # checks both).
  scanner_roles = ["Reader", "Security Reader"]
  graph_permissions = [
    "Directory.Read.All",
    "Policy.Read.All",
    "Policy.Read.DeviceConfiguration",
    "AuditLog.Read.All",
    "UserAuthenticationMethod.Read.All",
    "Reports.Read.All",
  ]
  scopes = concat(
    [for s in var.subscription_ids : "/subscriptions/${s}"],
    var.management_group_id == "" ? [] : ["/providers/Microsoft.Management/managementGroups/${var.management_group_id}"],
  )
  role_assignments = {
    for pair in setproduct(local.scopes, local.scanner_roles) :
    "${pair[0]}|${pair[1]}" => { scope = pair[0], role = pair[1] }
  }
}

data "azuread_client_config" "current" {}

data "azuread_application_published_app_ids" "well_known" {}

# Microsoft Graph's service principal in this tenant (it always exists; use_existing adopts it).
resource "azuread_service_principal" "msgraph" {
  client_id    = data.azuread_application_published_app_ids.well_known.result["MicrosoftGraph"]
  use_existing = true
}

resource "azuread_application" "rampart" {
  display_name     = var.display_name
  owners           = [data.azuread_client_config.current.object_id]
  sign_in_audience = "AzureADMyOrg"

  required_resource_access {
    resource_app_id = data.azuread_application_published_app_ids.well_known.result["MicrosoftGraph"]

    dynamic "resource_access" {
      for_each = local.graph_permissions
      content {
        id   = azuread_service_principal.msgraph.app_role_ids[resource_access.value]
        type = "Role"
      }
    }
  }
}

resource "azuread_service_principal" "rampart" {
  client_id = azuread_application.rampart.client_id
  owners    = [data.azuread_client_config.current.object_id]
}

# Admin consent: each application permission granted to the service principal.
resource "azuread_app_role_assignment" "graph" {
  for_each            = toset(local.graph_permissions)
  app_role_id         = azuread_service_principal.msgraph.app_role_ids[each.value]
  principal_object_id = azuread_service_principal.rampart.object_id
  resource_object_id  = azuread_service_principal.msgraph.object_id
}

resource "time_rotating" "secret" {
  rotation_days = var.secret_rotation_days
}

resource "azuread_application_password" "rampart" {
  application_id = azuread_application.rampart.id
  display_name   = "rampart collector"
  end_date       = time_rotating.secret.rotation_rfc3339
  rotate_when_changed = {
    rotation = time_rotating.secret.id
  }
}

# Reader and Security Reader on every chosen scope.
resource "azurerm_role_assignment" "scanner" {
  for_each                         = local.role_assignments
  scope                            = each.value.scope
  role_definition_name             = each.value.role
  principal_id                     = azuread_service_principal.rampart.object_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

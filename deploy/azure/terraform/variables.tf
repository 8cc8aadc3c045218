variable "subscription_ids" {
  description = "Subscriptions Rampart scans: the service principal gets Reader and Security Reader on each."
  type        = list(string)
  default     = []
}

variable "management_group_id" {
  description = "Optional management group (its name, e.g. \"mg-root\"): the roles are granted on it instead of, or besides, single subscriptions, so that new subscriptions below it are scanned too."
  type        = string
  default     = ""
}

variable "display_name" {
  description = "Display name of the app registration."
  type        = string
  default     = "rampart-scanner"
}

variable "secret_rotation_days" {
  description = "Lifetime of the client secret: a new one is made by the first apply after it expires."
  type        = number
  default     = 180
  validation {
    condition     = var.secret_rotation_days >= 1 && var.secret_rotation_days <= 730
    error_message = "Between 1 and 730 days (Entra ID caps client secrets at two years)."
  }
}

variable "provider_subscription_id" {
  description = "Subscription the azurerm provider signs in to (default: the first of subscription_ids, else ARM_SUBSCRIPTION_ID)."
  type        = string
  default     = null
  nullable    = true
}

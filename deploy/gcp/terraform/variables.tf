variable "project_id" {
  description = "Project that holds the scanner's service account (and is billed for its API calls)."
  type        = string
}

variable "scan_level" {
  description = "Where the read-only roles are granted: \"project\", \"folder\" or \"organization\". Rampart's scan scope must be the same resource (projects/ID, folders/N, organizations/N)."
  type        = string
  default     = "project"
  validation {
    condition     = contains(["project", "folder", "organization"], var.scan_level)
    error_message = "scan_level must be project, folder or organization."
  }
}

variable "scan_project_id" {
  description = "Project scanned when scan_level = \"project\" (default: project_id)."
  type        = string
  default     = null
}

variable "folder_id" {
  description = "Folder number scanned when scan_level = \"folder\" (digits only)."
  type        = string
  default     = null
}

variable "organization_id" {
  description = "Organization number scanned when scan_level = \"organization\" (digits only)."
  type        = string
  default     = null
}

variable "account_id" {
  description = "Service account id (the part before @)."
  type        = string
  default     = "rampart-scanner"
}

variable "extra_roles" {
  description = "Further roles granted at the same level (e.g. roles/essentialcontacts.viewer, roles/accessapproval.viewer)."
  type        = list(string)
  default     = []
}

variable "create_key" {
  description = "Create a service-account key and output it (it lands in the Terraform state: prefer creating it out of band or workload identity where possible)."
  type        = bool
  default     = false
}

variable "enable_apis" {
  description = "APIs enabled in project_id: the collector's calls are attributed to the service account's project."
  type        = list(string)
  default = [
    "cloudasset.googleapis.com",
    "essentialcontacts.googleapis.com",
    "accessapproval.googleapis.com",
  ]
}

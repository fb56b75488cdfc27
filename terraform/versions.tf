terraform {
  required_version = ">= 1.5"

  # For a team: keep the state in a versioned bucket of your own instead of on one machine, then
  # `terraform init -migrate-state` (README, Day to day).
  # backend "gcs" {
  #   bucket = "YOUR-TERRAFORM-STATE-BUCKET"
  #   prefix = "incident-twitter-bot"
  # }

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 9.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.9, < 1.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

# The secrets exist here; their values do not. Values are added by hand with
# `gcloud secrets versions add`, so they never enter Terraform state (README, the checklist).
locals {
  x_secret_suffixes = ["consumer_key", "consumer_secret", "access_token", "access_token_secret"]
  x_secret_ids      = [for suffix in local.x_secret_suffixes : "${var.secret_prefix}${suffix}"]
  # Each destination's credentials, as bot/config.py's secret_names reads them.
  destination_secret_ids = {
    x        = local.x_secret_ids
    bluesky  = ["${var.secret_prefix}bluesky_app_password"]
    mastodon = ["${var.secret_prefix}mastodon_access_token"]
  }
  token_secret_id = "${var.secret_prefix}statuspage_webhook_token"
  secret_ids = concat(
    flatten([for name in var.destinations : local.destination_secret_ids[name]]),
    var.webhook_token_enabled ? [local.token_secret_id] : [],
  )
}

resource "google_secret_manager_secret" "function" {
  for_each  = toset(local.secret_ids)
  secret_id = each.value

  replication {
    auto {}
  }

  labels     = { app = "incident-twitter-bot" }
  depends_on = [google_project_service.enabled]
}

output "webhook_url" {
  description = "Paste into Statuspage: Notifications → Webhook. Replace <TOKEN> with the token secret's value."
  value = (var.webhook_token_enabled
    ? "${google_cloudfunctions2_function.webhook.url}?token=<TOKEN>"
    : google_cloudfunctions2_function.webhook.url
  )
}

output "service_account" {
  description = "The function's identity."
  value       = google_service_account.function.email
}

output "secret_ids" {
  description = "Secrets whose values to add with `gcloud secrets versions add`."
  value       = local.secret_ids
}

output "state_bucket" {
  description = "The ledger's bucket: STATE_BUCKET for `python -m bot ledger`."
  value       = google_storage_bucket.state.name
}

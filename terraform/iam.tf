# The function's own identity. It may read exactly its secrets and write logs; nothing else.
resource "google_service_account" "function" {
  account_id   = substr("${var.function_name}-fn", 0, 30)
  display_name = "${var.function_name} Cloud Function"
  description  = "Runs the Statuspage-to-X relay: reads its own secrets, writes logs."
  depends_on   = [google_project_service.enabled]
}

resource "google_project_iam_member" "function_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.function.member
}

resource "google_secret_manager_secret_iam_member" "function" {
  for_each  = google_secret_manager_secret.function
  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function.member
}

# The function's own identity. It may read exactly its secrets, write logs, and read and write
# the ledger bucket (state.tf); nothing else.
resource "google_service_account" "function" {
  account_id   = local.function_account_id
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

# Cloud Build's identity for the functions' builds. Projects created since mid-2024, and
# organisation policies that stop default grants, leave the default build account without
# these; the roles are the ones Google documents for a build service account, the storage
# one on the source bucket only.
resource "google_service_account" "build" {
  account_id   = local.build_account_id
  display_name = "${var.function_name} build"
  description  = "Builds the functions from the source zip (Cloud Build)."
  depends_on   = [google_project_service.enabled]
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer"])
  project  = var.project_id
  role     = each.value
  member   = google_service_account.build.member
}

resource "google_storage_bucket_iam_member" "build_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.build.member
}

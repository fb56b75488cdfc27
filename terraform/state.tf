# The ledger: one small JSON object per incident update, so each is posted once and a
# failed one is retried (docs/design.md, Guarantees). Records older than 90 days are deleted.
resource "google_storage_bucket" "state" {
  #checkov:skip=CKV_GCP_62:Access logs of a bucket only the function touches add nothing; its own logs say what it did.
  #checkov:skip=CKV_GCP_78:Records are rewritten by compare-and-swap on their generation; old versions would only pile up.
  name                        = local.state_bucket_name
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Off by default, so a destroy never deletes the ledger by surprise (README, Day to day).
  force_destroy = var.ledger_force_destroy

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# Read and write the ledger's objects, on this bucket only.
resource "google_storage_bucket_iam_member" "function_state" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.function.member
}

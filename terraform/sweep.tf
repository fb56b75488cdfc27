# The sweep (docs/design.md, "Two paths"): a second, private function from the same source zip, which
# Cloud Scheduler calls every sweep_schedule with an OIDC token of its own service account,
# the only identity that may invoke it. It posts the updates no webhook brought.
resource "google_cloudfunctions2_function" "sweep" {
  #checkov:skip=CKV_GCP_124:Ingress ALLOW_ALL: Cloud Scheduler calls from outside any VPC; only the scheduler's account holds run.invoker.
  count       = var.sweep_enabled ? 1 : 0
  name        = local.sweep_name
  location    = var.region
  description = "Posts the Statuspage updates that no webhook brought (the sweep)."

  build_config {
    runtime = "python313"
    # Its own build identity (iam.tf), not the project's default build account.
    service_account = google_service_account.build.id
    entry_point     = "handle_sweep"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory = var.memory
    timeout_seconds  = 300 # a run ends within 240 s (bot/sweep.py)
    # One run at a time; overlapping runs would be safe (the ledger's claims), only wasteful.
    min_instance_count               = 0
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    service_account_email            = google_service_account.function.email
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    environment_variables            = merge(local.environment, { for k, v in local.optional_environment : k => v if v != "" })
  }

  lifecycle {
    precondition {
      condition     = var.statuspage_url != ""
      error_message = "The sweep (sweep_enabled = true, the default) reads the public status page's API: set statuspage_url, e.g. \"https://status.example.com\"."
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.function,
    google_project_iam_member.function_logs,
    google_storage_bucket_iam_member.function_state,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_source,
  ]
}

# The scheduler's identity: it may invoke the sweep, and nothing else.
resource "google_service_account" "scheduler" {
  count        = var.sweep_enabled ? 1 : 0
  account_id   = local.scheduler_account_id
  display_name = "${var.function_name} sweep scheduler"
  description  = "Calls the sweep function for Cloud Scheduler (OIDC); may invoke only that."
  depends_on   = [google_project_service.enabled]
}

resource "google_cloud_run_service_iam_member" "sweep_invoker" {
  count    = var.sweep_enabled ? 1 : 0
  location = google_cloudfunctions2_function.sweep[0].location
  service  = google_cloudfunctions2_function.sweep[0].name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler[0].member
}

resource "google_cloud_scheduler_job" "sweep" {
  count       = var.sweep_enabled ? 1 : 0
  name        = local.sweep_name
  region      = var.region
  description = "Runs the sweep: posts the Statuspage updates no webhook brought."
  schedule    = var.sweep_schedule
  time_zone   = "Etc/UTC"
  # The function's 300 s, and a little more: the scheduler records a run cut short as failed.
  attempt_deadline = "320s"

  retry_config {
    retry_count = 0 # the next run is minutes away
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.sweep[0].service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.scheduler[0].email
      audience              = google_cloudfunctions2_function.sweep[0].service_config[0].uri
    }
  }

  depends_on = [google_project_service.enabled, google_cloud_run_service_iam_member.sweep_invoker]
}
